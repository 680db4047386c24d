"""The views that evolve their maps in place (for a linear replay) give exactly the state of
the deciders' pure evolve, on a generated history holding every event type."""
from __future__ import annotations

from functools import reduce

from aap_contract.config import load_call
from aap_contract.events import Lapse, ReservationsLapsed
from aap_platform.codec import decode
from bench.history import History
from bench.views import view
from services.budget import domain as budget
from services.committee import domain as committee

CALL = load_call()


def history(n: int = 400):
    return [decode(payload) for _, payload, _ in History().messages(n)]


def replay(name: str, events):
    initial, evolve, _, _ = view(name)
    state = initial()
    for event in events:
        state = evolve(state, event)
    return state


def test_committee_sessions_equal_the_deciders_fold():
    events = history()
    state = replay("committee", events)
    for key, session in state.sessions.items():
        expected = committee.fold(int(key), [e for e in events if e.aggregate_type == "session" and e.aggregate_id == key])
        assert session == expected
        assert session.decisions and session.reviews and session.closed


def test_budget_fold_and_view_equal_the_pure_evolve_and_leave_the_initial_state_untouched():
    events = history()
    logged = [e.data for e in events if e.aggregate_type == "envelope"]
    datas = [*logged, ReservationsLapsed(deadline=CALL.budget.commitment_deadline,        # once more
                                         lapses=[Lapse(d.dossier_id, d.amount_cents) for d in logged[:3]])]
    initial = budget.initial_state(CALL.budget)
    expected = reduce(budget.evolve, datas, initial)
    assert reduce(budget.evolve, logged[:-1], initial).reservations       # held until the lapse
    assert expected.committed and expected.answered and expected.lapsed
    assert budget.fold(initial, datas) == expected
    assert budget.fold(initial, datas[:5]) == reduce(budget.evolve, datas[:5], initial)   # fold again: fresh
    assert initial == budget.initial_state(CALL.budget)
    assert replay("budget", events).envelope == reduce(budget.evolve, logged, initial)
