"""Intake's decider: Given past events, When a command at an instant, Then an event or a refusal."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import msgspec
import pytest

from aap_contract.config import load_call
from aap_contract.dossier import Dossier
from aap_contract.events import (
    DocumentUploaded,
    DossierAmended,
    DossierSubmitted,
    DossierWithdrawn,
)
from aap_contract.refusal import Refusal
from services.intake.domain import (
    AmendDossier,
    AttachDocument,
    Context,
    DossierState,
    SubmitDossier,
    WithdrawDossier,
    evolve,
    initial_state,
)
from services.intake.domain import decide as decide_with
from tests.unit.given import fold

CALL = load_call("hdf-itn7-axe3-2021")
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json"
DOSSIER = msgspec.convert(json.loads(SCENARIO.read_text())["steps"][0]["dossier"], Dossier)
SIREN = DOSSIER.applicants[0].siren
EMPTY = DossierState()


def decide(command, state, now: datetime, call=CALL):
    return decide_with(command, state, Context(now, call))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def refused(command, state, now: str) -> str:
    with pytest.raises(Refusal) as caught:
        decide(command, state, at(now), CALL)
    assert caught.value.message  # a sentence for the user, in French
    return caught.value.code


def submitted(session: int = 1) -> DossierState:
    return fold(evolve, initial_state(), [DossierSubmitted(dossier_id="d1", dossier=DOSSIER, session=session)])


@pytest.mark.parametrize(
    "now, session",
    [
        ("2021-04-01T00:00:00+02:00", 1),
        ("2021-05-14T23:59:59+02:00", 1),
        ("2021-05-14T23:59:59.900000+02:00", 1),  # dates are inclusive to the second
        ("2021-05-15T00:00:00+02:00", 2),
        ("2021-06-30T23:59:59+02:00", 2),
        ("2021-06-30T21:59:59+00:00", 2),  # the same instant written in UTC
    ],
)
def test_submission_in_window_is_recorded_with_its_session(now, session):
    event = decide(SubmitDossier("d1", DOSSIER), EMPTY, at(now), CALL)
    assert event == DossierSubmitted(dossier_id="d1", dossier=DOSSIER, session=session)


@pytest.mark.parametrize("now", ["2021-03-31T23:59:59+02:00", "2021-07-01T00:00:00+02:00", "2021-06-30T22:00:00+00:00"])
def test_submission_outside_window_is_refused(now):
    assert refused(SubmitDossier("d1", DOSSIER), EMPTY, now) == "WINDOW"


def test_retried_submission_records_nothing_even_after_the_window():
    assert decide(SubmitDossier("d1", DOSSIER), submitted(), at("2021-08-01T00:00:00+02:00"), CALL) is None


def test_amendment_before_cutoff_stays_in_session_1():
    event = decide(AmendDossier("d1", DOSSIER), submitted(1), at("2021-05-14T23:59:59+02:00"), CALL)
    assert event == DossierAmended(dossier_id="d1", dossier=DOSSIER, session=1)


def test_session_2_dossier_amended_until_the_window_closes():
    event = decide(AmendDossier("d1", DOSSIER), submitted(2), at("2021-06-30T23:59:59+02:00"), CALL)
    assert event == DossierAmended(dossier_id="d1", dossier=DOSSIER, session=2)


@pytest.mark.parametrize(
    "command",
    [
        AmendDossier("d1", DOSSIER),
        WithdrawDossier("d1"),
        AttachDocument("d1", "p.pdf", "application/pdf", 5, "h", "d1/h.pdf"),
    ],
)
def test_locked_after_the_cutoff_of_its_session(command):
    assert refused(command, submitted(1), "2021-05-15T00:00:00+02:00") == "LOCKED"


@pytest.mark.parametrize(
    "command",
    [
        AmendDossier("d1", DOSSIER),
        WithdrawDossier("d1"),
        AttachDocument("d1", "p.pdf", "application/pdf", 5, "h", "d1/h.pdf"),
    ],
)
def test_locked_after_withdrawal(command):
    state = fold(
        evolve,
        initial_state(),
        [DossierSubmitted(dossier_id="d1", dossier=DOSSIER, session=1), DossierWithdrawn("d1", "")],
    )
    assert refused(command, state, "2021-04-10T10:00:00+02:00") == "LOCKED"


@pytest.mark.parametrize(
    "command",
    [
        AmendDossier("d1", DOSSIER),
        WithdrawDossier("d1"),
        AttachDocument("d1", "p.pdf", "application/pdf", 5, "h", "d1/h.pdf"),
    ],
)
def test_unknown_dossier(command):
    assert refused(command, EMPTY, "2021-04-10T10:00:00+02:00") == "UNKNOWN_DOSSIER"


def test_another_applicants_dossier_looks_unknown():
    assert (
        refused(WithdrawDossier("d1", acting_for=("000000000",)), submitted(), "2021-04-10T10:00:00+02:00")
        == "UNKNOWN_DOSSIER"
    )
    assert decide(
        WithdrawDossier("d1", "plus utile", acting_for=(SIREN,)), submitted(), at("2021-04-10T10:00:00+02:00"), CALL
    ) == DossierWithdrawn("d1", "plus utile")


def test_precedence_unknown_before_window_before_locked():
    withdrawn = fold(
        evolve, initial_state(), [DossierSubmitted(dossier_id="d1", dossier=DOSSIER, session=1), DossierWithdrawn("d1")]
    )
    assert refused(AmendDossier("d1", DOSSIER), EMPTY, "2021-08-01T00:00:00+02:00") == "UNKNOWN_DOSSIER"
    assert refused(AmendDossier("d1", DOSSIER), withdrawn, "2021-08-01T00:00:00+02:00") == "WINDOW"
    assert refused(AmendDossier("d1", DOSSIER), withdrawn, "2021-04-10T00:00:00+02:00") == "LOCKED"


def test_document_upload_is_recorded_while_open():
    command = AttachDocument("d1", "p.pdf", "application/pdf", 5, "abc", "d1/abc.pdf")
    assert decide(command, submitted(), at("2021-04-10T10:00:00+02:00"), CALL) == DocumentUploaded(
        dossier_id="d1",
        filename="p.pdf",
        content_type="application/pdf",
        size=5,
        sha256="abc",
        object_name="d1/abc.pdf",
    )


# --- ImportDossier: the connector's imports, decided at the other platform's instant ----------


def test_an_import_of_a_new_dossier_is_a_submission_at_the_platform_instant():
    from services.intake.domain import ImportDossier

    event = decide(ImportDossier("d1", DOSSIER), EMPTY, at("2021-05-14T23:41:37+02:00"), CALL)
    assert isinstance(event, DossierSubmitted) and event.session == 1


def test_an_import_unchanged_records_nothing_and_a_changed_one_is_an_amendment():
    from services.intake.domain import ImportDossier

    assert decide(ImportDossier("d1", DOSSIER), submitted(), at("2021-05-20T10:00:00+02:00"), CALL) is None
    changed = msgspec.structs.replace(DOSSIER, title="Autre titre")
    event = decide(ImportDossier("d1", changed), submitted(), at("2021-05-10T10:00:00+02:00"), CALL)
    assert isinstance(event, DossierAmended) and event.dossier.title == "Autre titre"


def test_an_import_outside_the_window_or_after_the_releve_is_refused():
    from services.intake.domain import ImportDossier

    assert refused(ImportDossier("d1", DOSSIER), EMPTY, "2021-07-01T00:00:01+02:00") == "WINDOW"
    changed = msgspec.structs.replace(DOSSIER, title="Autre titre")
    assert refused(ImportDossier("d1", changed), submitted(), "2021-05-20T10:00:00+02:00") == "LOCKED"
