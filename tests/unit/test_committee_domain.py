"""The committee's decider: Given past events, When a command, Then an event or a refusal,
with FORMAT.md's precedence when several refusals apply."""

from __future__ import annotations

import pytest

from aap_contract.events import (
    ProjectDeferred,
    ProjectRejected,
    ProjectSelected,
    ReviewRecorded,
    Scores,
    SessionClosed,
)
from services.committee.domain import CloseSession, Decide, RecordReview
from tests.unit.committee_given import CALL, OPEN1, OPEN2, Given, at

SCORES = Scores(3, 2, 3, 3)


@pytest.fixture
def g() -> Given:
    given = Given()
    for ref in ("ETAT-CIVIL", "PORTAIL", "FORMATION", "SVI"):
        given.dossier(ref)
    given.dossier("RETIRE", withdrawn=True)
    given.dossier("LABO", session=2)
    return given


def select(ref: str, cents: int, n: int = 1) -> Decide:
    return Decide(n, ref, "select", granted_cents=cents)


def reject(ref: str, n: int = 1) -> Decide:
    return Decide(n, ref, "reject", motivation="Diagnostic insuffisant.")


def test_decisions_of_each_kind_are_recorded(g):
    assert g.when(select("ETAT-CIVIL", 4_500_000)) == ProjectSelected(
        session=1, dossier_id="ETAT-CIVIL", granted_cents=4_500_000
    )
    assert g.when(reject("FORMATION")) == ProjectRejected(
        session=1, dossier_id="FORMATION", motivation="Diagnostic insuffisant."
    )
    assert g.when(Decide(1, "PORTAIL", "defer")) == ProjectDeferred(session=1, dossier_id="PORTAIL", to_session=2)


def test_unknown_dossier_comes_before_everything_else(g):
    assert g.refusal(select("NOPE", 1), now=at("2021-05-01T10:00:00+02:00")) == "UNKNOWN_DOSSIER"


@pytest.mark.parametrize("now", ["2021-05-14T12:00:00+02:00", "2021-05-14T23:59:59.500000+02:00"])
def test_session_not_open_until_its_cutoff_has_passed(g, now):
    assert g.refusal(select("ETAT-CIVIL", 4_500_000), now=at(now)) == "SESSION_NOT_OPEN"
    assert g.refusal(RecordReview(1, "ETAT-CIVIL", "referent-62", SCORES), now=at(now)) == "SESSION_NOT_OPEN"
    assert g.refusal(CloseSession(1), now=at(now)) == "SESSION_NOT_OPEN"
    assert g.when(select("ETAT-CIVIL", 4_500_000), now=at("2021-05-15T00:00:00+02:00"))


def test_session_not_open_comes_before_not_on_agenda(g):
    assert g.refusal(select("LABO", 7_000_000, n=2), now=OPEN1) == "SESSION_NOT_OPEN"


@pytest.mark.parametrize("ref", ["INELIGIBLE", "RETIRE", "LABO", "UNASSESSED"])
def test_not_on_agenda(ref):
    """Ineligible, withdrawn, another session's, not yet assessed."""
    g = Given()
    g.dossier("RETIRE", withdrawn=True)
    g.dossier("LABO", session=2)
    if ref in ("INELIGIBLE", "UNASSESSED"):
        ref = g.dossier("FORMATION", eligible=None if ref == "UNASSESSED" else False)
    assert g.refusal(select(ref, 2_000_000)) == "NOT_ON_AGENDA"
    assert g.refusal(RecordReview(1, ref, "referent-62", SCORES)) == "NOT_ON_AGENDA"


def test_closed_session_comes_before_not_on_agenda(g):
    for ref in ("ETAT-CIVIL", "PORTAIL", "FORMATION", "SVI"):
        g.decided(reject(ref))
    g.decided(CloseSession(1))
    assert g.refusal(select("LABO", 7_000_000)) == "SESSION_CLOSED"  # also not on the agenda
    assert g.refusal(RecordReview(1, "ETAT-CIVIL", "referent-62", SCORES)) == "SESSION_CLOSED"
    assert g.refusal(CloseSession(1)) == "SESSION_CLOSED"


def test_already_decided_then_last_session_then_grant_range(g):
    g.decided(reject("FORMATION"))
    assert g.refusal(select("FORMATION", 1)) == "ALREADY_DECIDED"  # also out of range
    assert g.refusal(reject("FORMATION")) == "ALREADY_DECIDED"
    assert g.refusal(Decide(2, "LABO", "defer"), now=OPEN2) == "LAST_SESSION"
    g.decided(reject("LABO", n=2), now=OPEN2)
    assert g.refusal(Decide(2, "LABO", "defer"), now=OPEN2) == "ALREADY_DECIDED"


@pytest.mark.parametrize(
    "cents, ok",
    [
        (2_999_999, False),  # below 50 % of 6 000 000
        (3_000_000, True),  # exactly 50 %
        (4_500_000, True),  # exactly the amount requested
        (4_500_001, False),  # above the amount requested
        (6_000_001, False),  # above 100 %
        (0, False),
    ],
)
def test_grant_range_bounds_from_the_call(g, cents, ok):
    if ok:
        assert g.when(select("ETAT-CIVIL", cents)).granted_cents == cents
    else:
        assert g.refusal(select("ETAT-CIVIL", cents)) == "GRANT_RANGE"


def _spend_all_but(g: Given, left: int) -> None:
    """Reserve and commit on the envelope (as the budget would) until `left` cents remain."""
    from aap_contract.events import CreditsCommitted

    spent = CALL.budget.envelope_cents - left
    g.add(CreditsCommitted(dossier_id="OTHER", amount_cents=spent, legal_reference="EJ-1"))


def test_envelope_exhausted_counts_reserved_committed_and_unanswered_selections(g):
    _spend_all_but(g, 12_000_000)
    first = g.decided(select("ETAT-CIVIL", 4_500_000))
    g.reserved(first)  # 7 500 000 left
    g.decided(select("SVI", 5_000_000))  # unanswered: 2 500 000 left
    assert g.refusal(select("PORTAIL", 4_500_000)) == "ENVELOPE_EXHAUSTED"
    assert g.refusal(select("PORTAIL", 9_000_001)) == "GRANT_RANGE"  # both apply: range first
    assert g.when(select("FORMATION", 1_500_000)).granted_cents == 1_500_000


def test_refused_selection_is_back_on_the_agenda_and_decided_again(g):
    selection = g.decided(select("ETAT-CIVIL", 4_500_000))
    assert g.refusal(select("ETAT-CIVIL", 4_000_000)) == "ALREADY_DECIDED"
    g.refused(selection)
    again = g.decided(select("ETAT-CIVIL", 4_000_000))
    assert again.data.granted_cents == 4_000_000
    assert g.refusal(reject("ETAT-CIVIL")) == "ALREADY_DECIDED"


def test_review_is_recorded_and_may_be_revised(g):
    g.decided(RecordReview(1, "ETAT-CIVIL", "referent-62", Scores(1, 1, 1, None)))
    g.decided(reject("FORMATION"))
    assert g.when(RecordReview(1, "FORMATION", "referent-62", SCORES)) == ReviewRecorded(
        session=1, dossier_id="FORMATION", member_id="referent-62", scores=SCORES
    )  # reviews stay open after a decision
    g.decided(RecordReview(1, "ETAT-CIVIL", "referent-62", SCORES))
    assert g.state(1).reviews["ETAT-CIVIL"] == {"referent-62": SCORES}


def test_close_refused_while_a_dossier_is_undecided_or_a_selection_unanswered(g):
    g.dossier("MOBILITE", eligible=False)  # ineligible at relevé 1
    etat = g.decided(select("ETAT-CIVIL", 4_500_000))
    g.decided(Decide(1, "PORTAIL", "defer"))
    g.decided(reject("FORMATION"))
    assert g.refusal(CloseSession(1)) == "OPEN_ITEMS"  # SVI undecided
    svi = g.decided(select("SVI", 5_000_000))
    g.reserved(etat)
    assert g.refusal(CloseSession(1)) == "OPEN_ITEMS"  # SVI waits for the budget
    g.refused(svi)
    assert g.refusal(CloseSession(1)) == "OPEN_ITEMS"  # SVI back on the agenda
    g.reserved(g.decided(select("SVI", 4_000_000)))
    assert g.when(CloseSession(1)) == SessionClosed(
        session=1, laureates=["ETAT-CIVIL", "SVI"], not_retained=["FORMATION", "MOBILITE"]
    )


def test_close_refused_while_a_dossier_of_the_releve_is_not_assessed():
    g = Given()
    g.dossier("ETAT-CIVIL", eligible=None)
    assert g.refusal(CloseSession(1)) == "OPEN_ITEMS"


def test_deferral_into_session_two():
    g = Given()
    g.dossier("PORTAIL")
    g.dossier("LABO", session=2)
    g.decided(Decide(1, "PORTAIL", "defer"))
    assert g.refusal(select("PORTAIL", 9_000_000)) == "ALREADY_DECIDED"  # its deferral stands in 1
    assert g.when(CloseSession(1)) == SessionClosed(session=1, laureates=[], not_retained=[])
    assert g.refusal(Decide(2, "PORTAIL", "defer"), now=OPEN2) == "LAST_SESSION"
    assert g.refusal(CloseSession(2), now=OPEN2) == "OPEN_ITEMS"
    g.reserved(g.decided(select("PORTAIL", 9_000_000, n=2), now=OPEN2))
    g.reserved(g.decided(select("LABO", 7_000_000, n=2), now=OPEN2))
    assert g.when(CloseSession(2), now=OPEN2) == SessionClosed(
        session=2, laureates=["LABO", "PORTAIL"], not_retained=[]
    )
