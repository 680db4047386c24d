"""Recovery in seconds (issue 13), against a real nats-server: a reactor that dies with a message
in flight loses it only for the consumer's short ack_wait; a long handler is not redelivered
meanwhile; readiness answers within a second and says why it is not ready."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

from nats.js import api

from aap_contract.envelope import Event
from aap_contract.events import DossierWithdrawn
from aap_platform.reactor import (
    Subscription,
    attach_reactor,
    durable_name,
    ensure_parked_stream,
    update_consumer,
)
from aap_platform.store import EventStore
from tests.conftest import broker as make_broker
from tests.conftest import connect

NOW = datetime(2021, 4, 2, 9, 0, tzinfo=UTC)


def withdrawn(loaded, reason: str) -> Event:
    return loaded.next(DossierWithdrawn(dossier_id=loaded.aggregate_id, reason=reason), actor="test", at=NOW)


def withdrawals(handler) -> Subscription:
    return Subscription(handler, aggregates=("dossier",), types=("DossierWithdrawn",))


async def until(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await condition():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


async def test_a_consumer_created_with_a_long_ack_wait_is_brought_to_the_configured_one(nats_server, store):
    """A durable made with ack_wait=60 (before issue 13) is updated by the service's own start,
    under the service's own NATS identity (it may create and update that consumer only)."""
    await ensure_parked_stream(store)
    await store.js.add_consumer(
        store.stream,
        api.ConsumerConfig(
            durable_name=durable_name("notifier"),
            deliver_subject="_INBOX_notifier.before-issue-13",
            deliver_group=durable_name("notifier"),
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=60,
            max_ack_pending=1,
            filter_subject=f"aap.{store.call_id}.dossier.>",
        ),
    )

    async def handler(event: Event, seq: int) -> None: ...

    broker = make_broker(nats_server, "notifier")
    notifier = await connect(nats_server, "notifier")
    as_notifier = EventStore(notifier.jetstream(), store.call_id)
    assert await update_consumer(as_notifier, "notifier", 3.0) is True
    assert await update_consumer(as_notifier, "notifier", 3.0) is False
    await notifier.close()
    attach_reactor(broker, store, "notifier", withdrawals(handler), ack_wait=3.0)
    await broker.start()
    try:
        info = await store.js.consumer_info(store.stream, durable_name("notifier"))
    finally:
        await broker.stop()
    assert info.config.ack_wait == 3.0


async def test_a_message_in_flight_in_a_dead_reactor_is_redelivered_within_seconds(nats_server, store):
    """The first instance takes the event and dies with it (its connection closed while the handler
    blocks); the second instance, same queue group, gets it after the ack wait, not 60 s."""
    await ensure_parked_stream(store)
    taken = asyncio.Event()
    handled: list[tuple[str, int]] = []

    async def stuck(event: Event, seq: int) -> None:
        taken.set()
        await asyncio.sleep(3600)

    async def works(event: Event, seq: int) -> None:
        handled.append((event.event_id, seq))

    first, second = make_broker(nats_server), make_broker(nats_server)
    attach_reactor(first, store, "flight", withdrawals(stuck), ack_wait=2.0)
    await first.start()
    loaded = await store.load("dossier", "d-flight")
    event = withdrawn(loaded, "in flight")
    await store.append(event, 0)
    await asyncio.wait_for(taken.wait(), 10)
    attach_reactor(second, store, "flight", withdrawals(works), ack_wait=2.0)
    await second.start()
    try:
        await first.connection.close()  # the first instance is gone, its message unacknowledged
        died = time.monotonic()
        waited = await until(lambda: asyncio.sleep(0, bool(handled)), 10, "redelivered to the other instance")
        print(f"in-flight message redelivered {waited:.1f} s after its reactor died (ack_wait 2 s)")
        assert handled == [(event.event_id, 1)]
        assert time.monotonic() - died < 10
    finally:
        await second.stop()
        with contextlib.suppress(Exception):  # its connection is closed already
            await asyncio.wait_for(first.stop(), 5)


async def test_a_long_handler_says_it_is_working_and_is_not_redelivered(nats_server, store):
    """A handler that takes three times the ack wait is not given to the other instance meanwhile."""
    await ensure_parked_stream(store)
    calls: list[str] = []

    async def slow(event: Event, seq: int) -> None:
        calls.append("slow")
        await asyncio.sleep(3.0)

    async def other(event: Event, seq: int) -> None:
        calls.append("other")

    one, two = make_broker(nats_server), make_broker(nats_server)
    attach_reactor(one, store, "long", withdrawals(slow), ack_wait=1.0)
    await one.start()
    loaded = await store.load("dossier", "d-long")
    await store.append(withdrawn(loaded, "long"), 0)
    await until(lambda: asyncio.sleep(0, bool(calls)), 10, "taken")
    attach_reactor(two, store, "long", withdrawals(other), ack_wait=1.0)
    await two.start()
    try:
        await until(
            lambda: _lag_zero(store, "long"),
            10,
            "acknowledged",
        )
        await asyncio.sleep(1.5)
    finally:
        await one.stop()
        await two.stop()
    assert calls == ["slow"]


async def _lag_zero(store: EventStore, service: str) -> bool:
    info = await store.js.consumer_info(store.stream, durable_name(service))
    return info.num_pending + info.num_ack_pending == 0
