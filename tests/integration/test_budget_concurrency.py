"""The envelope never goes below zero, whatever the concurrency — against a real nats-server."""

from __future__ import annotations

import asyncio
from datetime import datetime
from types import SimpleNamespace

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from aap_contract.config import calls_dir, load_call
from aap_contract.events import CreditsReserved, ProjectSelected, ReservationRefused
from aap_platform.clock import set_clock
from aap_platform.ids import stable_id
from aap_platform.projection import Projection
from aap_platform.store import ConcurrencyError
from services.budget.app import create_app
from services.budget.consumers import subscription
from services.budget.domain import Envelope, evolve, initial_state
from services.budget.handlers import BudgetHandlers
from services.budget.view import evolve_view, figures, initial_view
from tests.conftest import CALL

GRANT = 4_900_000
FITS = 10
RACERS = 50
SELECTION_DAY = datetime.fromisoformat("2021-05-20T10:00:00+02:00")


@pytest.fixture
def small_call(tmp_path) -> str:
    """The shipped call, with an envelope that fits exactly ten grants."""
    text = (calls_dir() / f"{CALL}.toml").read_text(encoding="utf-8")
    path = tmp_path / "small-envelope.toml"
    path.write_text(text.replace("envelope_cents = 168500000", f"envelope_cents = {FITS * GRANT}"), encoding="utf-8")
    assert load_call(str(path)).budget.envelope_cents == FITS * GRANT
    return str(path)


def check_never_below_zero(initial: Envelope, events) -> Envelope:
    """Replay the envelope's events in order; every intermediate state keeps available >= 0."""
    state = initial
    for e in events:
        state = evolve(state, e)
        assert state.available_cents >= 0, f"envelope below zero after event #{e.sequence}"
    return state


async def wait_envelope_events(store, count: int) -> list:
    async def poll():
        while True:
            loaded = await store.load("envelope", CALL)
            if len(loaded.events) >= count:
                return loaded.events
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), 60)


async def test_fifty_concurrent_selections_exactly_ten_funded(store, settings, small_call, token):
    settings = msgspec.structs.replace(settings, call=small_call)
    initial = initial_state(load_call(small_call).budget)
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {token('auditor')}"}
    async with AsyncTestClient(app=app) as client:
        runtime = app.state.runtime
        revision = await set_clock(store.js, CALL, SELECTION_DAY)
        while runtime.clock.revision < revision:
            await asyncio.sleep(0.01)

        async def select(i: int):
            # All on session 1's aggregate (the contract): racing writers retry on a conflict.
            while True:
                loaded = await store.load("session", "1")
                event = loaded.next(
                    ProjectSelected(session=1, dossier_id=f"D{i:02d}", granted_cents=GRANT),
                    actor="committee",
                    at=SELECTION_DAY,
                )
                try:
                    await store.append(event, loaded.version)
                    return event
                except ConcurrencyError:
                    continue

        selections = await asyncio.gather(*(select(i) for i in range(RACERS)))

        events = await wait_envelope_events(store, RACERS)
        last = await store.last_sequence()
        while runtime.position < last:  # the app runs in the client's own loop
            await asyncio.sleep(0.01)
        answer = (await client.get("/budget", headers=headers)).json()
        reservations = (await client.get("/reservations", headers=headers)).json()["items"]
        audit = (await client.get("/audit/views", headers=headers)).json()

    assert len(events) == RACERS
    assert sum(isinstance(e.data, CreditsReserved) for e in events) == FITS
    assert sum(isinstance(e.data, ReservationRefused) for e in events) == RACERS - FITS
    final = check_never_below_zero(initial, events)
    assert final.available_cents == 0 and final.reserved_cents == FITS * GRANT
    by_selection = {s.event_id: s for s in selections}
    for e in events:  # each answer derives from its selection
        assert e.causation_id in by_selection
        assert e.event_id == stable_id("reservation", e.causation_id)
        assert e.data.dossier_id == by_selection[e.causation_id].data.dossier_id
    assert len({e.causation_id for e in events}) == RACERS

    assert (answer["reserved_cents"], answer["committed_cents"], answer["available_cents"]) == (FITS * GRANT, 0, 0)
    assert answer["by_session"]["1"]["reserved_cents"] == FITS * GRANT
    assert sorted(r["status"] for r in reservations).count("reserved") == FITS
    assert sorted(r["status"] for r in reservations).count("refused") == RACERS - FITS

    assert [(a["view"], a["live_digest"]) for a in audit] == [("budget", audit[0]["rebuilt_digest"])]
    fresh = Projection("budget-replay", lambda: initial_view(load_call(small_call).budget), evolve_view)
    await fresh.start(store)
    await asyncio.wait_for(fresh.ready.wait(), 10)
    await fresh.stop()
    assert {k: v for k, v in figures(fresh.state, sessions=["1", "2"]).items() if not k.startswith("by_")} == {
        k: v for k, v in answer.items() if not k.startswith("by_")
    }
    assert figures(fresh.state, sessions=["1", "2"])["by_session"] == answer["by_session"]


def handlers_on(store, small_call: str) -> BudgetHandlers:
    """The budget's handlers on the store alone (the commands need no view to reserve)."""
    runtime = SimpleNamespace(store=store, call=load_call(small_call), now=lambda: SELECTION_DAY)
    return BudgetHandlers(runtime, view=None)  # type: ignore[arg-type]


async def test_fifty_reserve_commands_racing_on_the_envelope(store, small_call):
    initial = initial_state(load_call(small_call).budget)
    handlers = handlers_on(store, small_call)
    loaded = await store.load("session", "1")
    selections = [
        loaded.next(
            ProjectSelected(session=1, dossier_id=f"D{i:02d}", granted_cents=GRANT), actor="committee", at=SELECTION_DAY
        )
        for i in range(RACERS)
    ]
    answers = await asyncio.gather(*(handlers.reserve(s) for s in selections))
    assert sum(isinstance(a.data, CreditsReserved) for a in answers) == FITS
    events = (await store.load("envelope", CALL)).events
    assert len(events) == RACERS
    assert sum(isinstance(e.data, CreditsReserved) for e in events) == FITS
    check_never_below_zero(initial, events)


async def test_a_redelivered_selection_appends_nothing_new(store, small_call):
    handle = subscription(handlers_on(store, small_call)).handler
    loaded = await store.load("session", "1")
    selection = loaded.next(
        ProjectSelected(session=1, dossier_id="D1", granted_cents=GRANT), actor="committee", at=SELECTION_DAY
    )
    seq = await store.append(selection, loaded.version)
    await asyncio.gather(handle(selection, seq), handle(selection, seq))  # a redelivery racing
    await handle(selection, seq)  # and a late one
    events = (await store.load("envelope", CALL)).events
    assert [type(e.data) for e in events] == [CreditsReserved]
    assert events[0].event_id == stable_id("reservation", selection.event_id)
