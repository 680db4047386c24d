"""The assessment aggregate and the eligibility view: Given past events, When, Then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aap_contract.envelope import Event
from aap_contract.events import (
    DossierAmended,
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
    RuleFailure,
)
from services.eligibility.domain import AssessDossier, decide, evolve, initial_state
from services.eligibility.view import evolve_view, initial_view
from tests.unit.given import fold
from tests.unit.test_eligibility_rules import BREAKERS, CALL, reference

T0 = datetime(2021, 4, 6, 9, 30, tzinfo=UTC)


def envelope(data, event_id: str, seq: int, aggregate: str = "dossier") -> Event:
    return Event(
        event_id,
        type(data).__name__,
        type(data).version,
        aggregate,
        data.dossier_id,
        seq,
        T0 + timedelta(minutes=seq),
        "test",
        "corr",
        None,
        "0",
        data,
    )


def assessed(dossier_event_id: str, eligible: bool = True, codes: tuple[str, ...] = ()) -> EligibilityAssessed:
    return EligibilityAssessed("d1", dossier_event_id, eligible, [RuleFailure(c, "pourquoi.") for c in codes])


# --- decide -----------------------------------------------------------------------------


def test_first_assessment_of_a_submission_records_the_verdict():
    result = decide(AssessDossier("d1", "e1", reference()), fold(evolve, initial_state(), []), CALL)
    assert result == EligibilityAssessed("d1", "e1", True, [])


def test_an_ineligible_dossier_is_recorded_with_every_failure():
    broken = BREAKERS["DOCUMENT"](BREAKERS["THEME"](reference()))
    result = decide(AssessDossier("d1", "e1", broken), fold(evolve, initial_state(), []), CALL)
    assert result.eligible is False
    assert [f.code for f in result.failures] == ["THEME", "DOCUMENT"]


def test_an_event_already_assessed_decides_nothing():
    given = [assessed("e1")]
    assert decide(AssessDossier("d1", "e1", reference()), fold(evolve, initial_state(), given), CALL) is None


def test_an_amendment_is_assessed_again():
    given = [assessed("e1")]
    result = decide(
        AssessDossier("d1", "e2", BREAKERS["COST_RANGE"](reference())), fold(evolve, initial_state(), given), CALL
    )
    assert result.dossier_event_id == "e2" and [f.code for f in result.failures] == ["COST_RANGE"]


def test_state_reads_envelopes_too():
    event = envelope(assessed("e1"), "a1", 2, "assessment")
    assert fold(evolve, initial_state(), [event]).assessed == {"e1"}


# --- view -------------------------------------------------------------------------------


def play(*events: Event):
    view = initial_view()
    for event in events:
        view = evolve_view(view, event)
    return view


def test_view_keeps_the_latest_assessment_and_the_sirens():
    d = reference()
    view = play(
        envelope(DossierSubmitted("d1", d, 1), "e1", 1),
        envelope(assessed("e1", False, ("THEME", "COST_RANGE")), "a1", 2, "assessment"),
        envelope(DossierAmended("d1", d, 1), "e2", 3),
        envelope(assessed("e2"), "a2", 4, "assessment"),
    )
    entry = view.get("d1")
    assert entry.sirens == ("215903501",)
    assert entry.assessment.dossier_event_id == "e2" and entry.assessment.eligible
    assert entry.assessment.assessed_at == T0 + timedelta(minutes=4)
    assert view.count(True) == 1 and view.count(False) == 0


def test_reasons_are_sorted_codes():
    view = play(
        envelope(DossierSubmitted("d1", reference(), 1), "e1", 1),
        envelope(assessed("e1", False, ("THEME", "COST_RANGE")), "a1", 2, "assessment"),
    )
    assert view.get("d1").assessment.reasons == ["COST_RANGE", "THEME"]


def test_an_assessment_of_a_replaced_version_does_not_override_the_latest():
    d = reference()
    view = play(
        envelope(DossierSubmitted("d1", d, 1), "e1", 1),
        envelope(DossierAmended("d1", d, 1), "e2", 2),
        envelope(assessed("e2", True), "a2", 3, "assessment"),
        envelope(assessed("e1", False, ("THEME",)), "a1", 4, "assessment"),
    )
    assert view.get("d1").assessment.dossier_event_id == "e2"


def test_withdrawal_keeps_the_assessment_and_filters_work():
    d = reference()
    other = envelope(DossierSubmitted("d2", d, 1), "f1", 3)
    view = play(
        envelope(DossierSubmitted("d1", d, 1), "e1", 1),
        envelope(assessed("e1"), "a1", 2, "assessment"),
        other,
        envelope(EligibilityAssessed("d2", "f1", False, [RuleFailure("THEME", "x.")]), "a2", 4, "assessment"),
        envelope(DossierWithdrawn("d1"), "w1", 5),
    )
    assert [e.dossier_id for e in view.assessed()] == ["d1", "d2"]
    assert [e.dossier_id for e in view.assessed(True)] == ["d1"]
    assert [e.dossier_id for e in view.assessed(False)] == ["d2"]


def test_a_dossier_not_yet_assessed_is_not_listed():
    view = play(envelope(DossierSubmitted("d1", reference(), 1), "e1", 1))
    assert view.get("d1").assessment is None and view.assessed() == []
