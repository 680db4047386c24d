"""The envelope decider: Given (past events), When (a command), Then (the event or refusal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from aap_contract.config import calls_dir, load_call, parse_call
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    Lapse,
    ReservationRefused,
    ReservationsLapsed,
)
from aap_contract.refusal import Refusal
from services.budget import domain
from services.budget.domain import Commit, Context, LapseAt, Reserve, evolve, initial_state
from tests.unit.given import fold

CALL = load_call()
ENVELOPE = CALL.budget.envelope_cents
PARIS = ZoneInfo("Europe/Paris")
IN_TIME = datetime(2021, 9, 15, 10, 0, tzinfo=PARIS)


class When(NamedTuple):
    command: domain.Command
    context: Context


def given(*events, budget=CALL.budget):
    return fold(evolve, initial_state(budget), events)


def decide(when: When, state):
    return domain.decide(when.command, state, when.context)


def lapse_at(now: datetime) -> When:
    return When(LapseAt(), Context(now))


def reserved(dossier: str, amount: int, session: int = 1) -> CreditsReserved:
    return CreditsReserved(
        dossier_id=dossier, session=session, selection_event_id=f"sel-{dossier}", amount_cents=amount
    )


def reserve(dossier: str, amount: int, selection: str | None = None) -> When:
    command = Reserve(
        dossier_id=dossier, session=1, selection_event_id=selection or f"sel-{dossier}", amount_cents=amount
    )
    return When(command, Context(IN_TIME))


def commit(dossier: str, now: datetime = IN_TIME, known: bool = True) -> When:
    return When(Commit(dossier_id=dossier, legal_reference="EJ-1"), Context(now, dossier_known=known))


def refusal_code(command, state) -> str:
    with pytest.raises(Refusal) as caught:
        decide(command, state)
    return caught.value.code


# --- Reserve ---------------------------------------------------------------------------


def test_reserve_within_the_envelope_reserves_the_grant():
    assert decide(reserve("A", 4_500_000), given()) == reserved("A", 4_500_000)


def test_reserve_that_fits_exactly_is_accepted():
    state = given(reserved("A", ENVELOPE - 1_900_000))
    assert decide(reserve("B", 1_900_000), state) == reserved("B", 1_900_000)


def test_reserve_beyond_what_remains_is_refused_with_the_available_amount():
    state = given(reserved("A", ENVELOPE - 1_900_000))
    assert decide(reserve("B", 1_900_001), state) == ReservationRefused(
        dossier_id="B",
        session=1,
        selection_event_id="sel-B",
        amount_cents=1_900_001,
        available_cents=1_900_000,
        code="ENVELOPE_EXHAUSTED",
    )


def test_a_selection_already_answered_decides_nothing():
    assert decide(reserve("A", 100), given(reserved("A", 100))) is None
    refused = ReservationRefused(
        dossier_id="B", session=1, selection_event_id="sel-B", amount_cents=ENVELOPE + 1, available_cents=ENVELOPE
    )
    assert decide(reserve("B", ENVELOPE + 1), given(refused)) is None


def test_a_new_selection_of_a_dossier_holding_credits_is_ignored():
    state = given(reserved("A", 100))
    assert decide(reserve("A", 200, selection="another"), state) is None
    committed = given(reserved("A", 100), CreditsCommitted(dossier_id="A", amount_cents=100, legal_reference="EJ"))
    assert decide(reserve("A", 200, selection="another"), committed) is None


def test_a_dossier_refused_for_lack_of_credits_can_be_selected_again():
    refused = ReservationRefused(
        dossier_id="A", session=1, selection_event_id="sel-1", amount_cents=ENVELOPE + 1, available_cents=ENVELOPE
    )
    again = decide(reserve("A", 100, selection="sel-2"), given(refused))
    assert isinstance(again, CreditsReserved) and again.amount_cents == 100


def test_lapsed_and_committed_credits_count_as_expected_in_availability():
    state = given(
        reserved("A", 1_000),
        reserved("B", 2_000),
        CreditsCommitted(dossier_id="A", amount_cents=1_000, legal_reference="EJ"),
        ReservationsLapsed(
            deadline=CALL.budget.commitment_deadline, lapses=[Lapse(dossier_id="B", amount_cents=2_000)]
        ),
    )
    assert (state.reserved_cents, state.committed_cents, state.available_cents) == (0, 1_000, ENVELOPE - 1_000)


# --- Commit: each refusal, then precedence -----------------------------------------------


def test_commit_turns_the_reservation_into_committed_credits():
    assert decide(commit("A"), given(reserved("A", 4_500_000))) == CreditsCommitted(
        dossier_id="A", amount_cents=4_500_000, legal_reference="EJ-1"
    )


def test_commit_of_a_dossier_unknown_to_the_budget_is_refused_as_unknown():
    assert refusal_code(commit("X", known=False), given()) == "UNKNOWN_DOSSIER"


def test_commit_after_the_deadline_is_refused():
    late = datetime(2022, 1, 3, 9, 0, tzinfo=PARIS)
    assert refusal_code(commit("A", now=late), given(reserved("A", 100))) == "COMMITMENT_DEADLINE"


@pytest.mark.parametrize(
    "history",
    [
        (),  # never selected
        (
            ReservationRefused(dossier_id="A", session=1, selection_event_id="s", amount_cents=9, available_cents=0),
        ),  # refused
        (reserved("A", 100), CreditsCommitted(dossier_id="A", amount_cents=100, legal_reference="EJ")),
        (
            reserved("A", 100),
            ReservationsLapsed(
                deadline=CALL.budget.commitment_deadline, lapses=[Lapse(dossier_id="A", amount_cents=100)]
            ),
        ),
    ],
    ids=["never-selected", "refused", "already-committed", "lapsed"],
)
def test_commit_without_an_outstanding_reservation_is_refused_as_not_selected(history):
    assert refusal_code(commit("A"), given(*history)) == "NOT_SELECTED"


def test_precedence_unknown_dossier_before_deadline_before_not_selected():
    late = datetime(2022, 1, 3, 9, 0, tzinfo=PARIS)
    assert refusal_code(commit("X", now=late, known=False), given()) == "UNKNOWN_DOSSIER"
    assert refusal_code(commit("A", now=late, known=True), given()) == "COMMITMENT_DEADLINE"
    assert refusal_code(commit("A", now=IN_TIME, known=True), given()) == "NOT_SELECTED"


def test_refusal_messages_are_french_sentences():
    with pytest.raises(Refusal) as caught:
        decide(commit("A"), given())
    assert "réservation" in caught.value.message and not caught.value.not_found
    with pytest.raises(Refusal) as unknown:
        decide(commit("A", known=False), given())
    assert unknown.value.not_found


# --- the deadline, to the second, whatever the offset ------------------------------------


@pytest.mark.parametrize(
    "instant, allowed",
    [
        ("2021-12-31T23:59:59+01:00", True),
        ("2021-12-31T23:59:59.999999+01:00", True),  # the whole deadline second is allowed
        ("2021-12-31T22:59:59Z", True),  # the deadline, in UTC (winter time: +01:00)
        ("2022-01-01T00:00:00+01:00", False),
        ("2021-12-31T23:00:00Z", False),  # same instant as above
        ("2022-01-01T00:59:59+02:00", True),  # == 23:59:59+01:00, written in summer offset
    ],
)
def test_commit_at_the_deadline_to_the_second(instant, allowed):
    state = given(reserved("A", 100))
    now = datetime.fromisoformat(instant)
    if allowed:
        assert isinstance(decide(commit("A", now=now), state), CreditsCommitted)
        assert decide(lapse_at(now), state) is None
    else:
        assert refusal_code(commit("A", now=now), state) == "COMMITMENT_DEADLINE"
        assert decide(lapse_at(now), state) == ReservationsLapsed(
            deadline=CALL.budget.commitment_deadline, lapses=[Lapse(dossier_id="A", amount_cents=100)]
        )


def test_the_configured_deadline_is_paris_winter_time():
    assert CALL.budget.commitment_deadline.utcoffset() == timedelta(hours=1)
    assert CALL.budget.commitment_deadline == datetime(2021, 12, 31, 22, 59, 59, tzinfo=UTC)


def _summer_call():
    text = (calls_dir() / "hdf-itn7-axe3-2021.toml").read_text(encoding="utf-8")
    text = text.replace("commitment_deadline = 2021-12-31T23:59:59", "commitment_deadline = 2021-09-30T23:59:59")
    return parse_call(text)


@pytest.mark.parametrize(
    "instant, allowed",
    [
        ("2021-09-30T23:59:59+02:00", True),
        ("2021-09-30T21:59:59Z", True),
        ("2021-09-30T22:59:59+01:00", True),
        ("2021-10-01T00:00:00+02:00", False),
        ("2021-09-30T22:00:00Z", False),
        ("2021-09-30T22:59:59Z", False),  # a naive "deadline as UTC" reading would allow it
    ],
)
def test_a_deadline_in_summer_time_is_checked_in_paris_time(instant, allowed):
    budget = _summer_call().budget
    assert budget.commitment_deadline.utcoffset() == timedelta(hours=2)
    state = given(reserved("A", 100), budget=budget)
    now = datetime.fromisoformat(instant)
    if allowed:
        assert isinstance(decide(commit("A", now=now), state), CreditsCommitted)
        assert decide(lapse_at(now), state) is None
    else:
        assert refusal_code(commit("A", now=now), state) == "COMMITMENT_DEADLINE"
        assert isinstance(decide(lapse_at(now), state), ReservationsLapsed)


# --- LapseAt ----------------------------------------------------------------------------


def test_lapse_takes_every_uncommitted_reservation_and_only_those():
    after = datetime(2022, 1, 1, 0, 0, tzinfo=PARIS)
    state = given(
        reserved("A", 100),
        reserved("B", 200),
        reserved("C", 300),
        CreditsCommitted(dossier_id="B", amount_cents=200, legal_reference="EJ"),
    )
    lapsed = decide(lapse_at(after), state)
    assert lapsed == ReservationsLapsed(
        deadline=CALL.budget.commitment_deadline, lapses=[Lapse("A", 100), Lapse("C", 300)]
    )
    after_lapse = fold(evolve, state, [lapsed])
    assert after_lapse.lapsed and after_lapse.available_cents == ENVELOPE - 200
    assert decide(lapse_at(after + timedelta(days=1)), after_lapse) is None  # once


def test_no_lapse_when_nothing_is_reserved():
    after = datetime(2022, 1, 1, 0, 0, tzinfo=PARIS)
    assert decide(lapse_at(after), given()) is None
    assert decide(lapse_at(after), given(reserved("A", 1), CreditsCommitted("A", 1, "EJ"))) is None
