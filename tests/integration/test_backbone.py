"""The event backbone against a real nats-server: concurrency, dedupe, redelivery, replay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from aap_contract.envelope import Event
from aap_contract.events import DossierWithdrawn
from aap_platform.execute import execute
from aap_platform.projection import Projection
from aap_platform.reactor import (
    Subscription,
    attach_reactor,
    ensure_parked_stream,
    parked_stream,
    reactor_lag,
)
from aap_platform.store import ConcurrencyError, EventStore
from tests.conftest import broker as root_broker

NOW = datetime(2021, 4, 2, 9, 0, tzinfo=UTC)


def withdrawn(loaded, reason: str) -> Event:
    return loaded.next(DossierWithdrawn(dossier_id=loaded.aggregate_id, reason=reason), actor="test", at=NOW)


def count_view():
    return {}


def evolve_count(view: dict, event: Event) -> dict:
    return {**view, event.aggregate_id: view.get(event.aggregate_id, 0) + 1}


async def test_two_writers_same_version_exactly_one_wins(store):
    loaded = await store.load("dossier", "d1")
    results = await asyncio.gather(
        store.append(withdrawn(loaded, "a"), loaded.version),
        store.append(withdrawn(loaded, "b"), loaded.version),
        return_exceptions=True,
    )
    assert sum(isinstance(r, int) for r in results) == 1
    assert sum(isinstance(r, ConcurrencyError) for r in results) == 1
    again = await store.load("dossier", "d1")
    assert len(again.events) == 1


async def test_same_event_appended_twice_is_stored_once(store):
    loaded = await store.load("dossier", "d2")
    event = withdrawn(loaded, "x")
    first = await store.append(event, loaded.version)
    second = await store.append(event, loaded.version)  # a retry after a lost ack
    third = await store.append(event, None)
    assert first == second == third
    assert [e.event_id for e in (await store.load("dossier", "d2")).events] == [event.event_id]
    assert await store.last_sequence() == 1


async def test_execute_redecides_on_conflict(store):
    async def bump(i):
        return await execute(
            store, "dossier", "d3", lambda l: DossierWithdrawn("d3", str(len(l.events))), actor="t", now=lambda: NOW
        )

    await asyncio.gather(*(bump(i) for i in range(8)))
    loaded = await store.load("dossier", "d3")
    assert [e.data.reason for e in loaded.events] == [str(i) for i in range(8)]
    assert [e.sequence for e in loaded.events] == list(range(1, 9))


def withdrawals(handler) -> Subscription:
    return Subscription(handler, aggregates=("dossier",), types=("DossierWithdrawn",))


def test_a_subscription_names_the_aggregates_of_the_types_it_reacts_to():
    """A reaction to a type published on an aggregate it does not subscribe to would receive
    nothing: refused when declared, not discovered in production."""

    async def handler(event: Event, seq: int) -> None: ...

    with pytest.raises(ValueError, match="ProjectSelected"):
        Subscription(handler, aggregates=("dossier",), types=("DossierSubmitted", "ProjectSelected"))
    with pytest.raises(ValueError, match="unknown event type"):
        Subscription(handler, aggregates=(), types=("NoSuchEvent",))
    both = Subscription(handler, aggregates=("dossier", "session"), types=("DossierSubmitted", "ProjectSelected"))
    assert both.types == ("DossierSubmitted", "ProjectSelected")


async def test_failing_handler_is_redelivered_and_applied_once(nats_server, store):
    await ensure_parked_stream(store)
    applied: list[str] = []
    calls = 0

    async def handler(event: Event, seq: int) -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise RuntimeError("transient failure")
        applied.append(event.event_id)

    broker = root_broker(nats_server)
    attach_reactor(broker, store, "flaky", withdrawals(handler), backoff=(0.05, 0.05, 0.05))
    await broker.start()
    try:
        loaded = await store.load("dossier", "d4")
        event = withdrawn(loaded, "r")
        await store.append(event, 0)
        for _ in range(100):
            if applied and await reactor_lag(store, "flaky") == 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        await broker.stop()
    assert calls == 3
    assert applied == [event.event_id]


async def test_handler_that_keeps_failing_is_parked_not_dropped(nats_server, store):
    await ensure_parked_stream(store)

    async def handler(event: Event, seq: int) -> None:
        raise RuntimeError("always")

    broker = root_broker(nats_server)
    attach_reactor(broker, store, "broken", withdrawals(handler), max_deliver=3, backoff=(0.02,))
    await broker.start()
    try:
        loaded = await store.load("dossier", "d5")
        await store.append(withdrawn(loaded, "p"), 0)
        for _ in range(200):
            info = await store.js.stream_info(parked_stream(store))
            if info.state.messages:
                break
            await asyncio.sleep(0.05)
    finally:
        await broker.stop()
    info = await store.js.stream_info(parked_stream(store))
    assert info.state.messages == 1
    msg = await store.js.get_msg(parked_stream(store), seq=1)
    assert msg.headers["Aap-Original-Seq"] == "1"


async def _fill(store: EventStore, n: int) -> None:
    for i in range(n):
        loaded = await store.load("dossier", f"d{i % 7}")
        await store.append(withdrawn(loaded, str(i)), loaded.version)


async def test_rebuilt_view_equals_live_view_and_restart_resumes(store):
    live = Projection("count", count_view, evolve_count)
    await live.start(store)
    await _fill(store, 30)
    await live.wait_for(30, timeout=5)

    # a service stopped mid-stream resumes from its position: no gap, no double
    resumed = Projection("count", count_view, evolve_count)
    await resumed.start(store)
    await resumed.wait_for(30, timeout=5)
    await resumed.stop()
    await _fill(store, 20)
    await resumed.start(store)
    await resumed.wait_for(50, timeout=5)
    await live.wait_for(50, timeout=5)

    rebuilt = Projection("count", count_view, evolve_count)
    await rebuilt.start(store)
    await asyncio.wait_for(rebuilt.ready.wait(), 5)
    assert rebuilt.state == live.state == resumed.state
    assert sum(live.state.values()) == 50
    for p in (live, resumed, rebuilt):
        await p.stop()


def test_apply_never_applies_a_sequence_twice():
    view = Projection("count", count_view, evolve_count)
    e = Event("id", "DossierWithdrawn", 2, "dossier", "d", 1, NOW, "t", "c", None, "0", DossierWithdrawn("d"))
    assert view.apply(1, e) is True
    assert view.apply(1, e) is False
    assert view.state == {"d": 1}
