"""Reactors: a service's durable, explicitly acknowledged consumer of the call's stream.

A handler that raises is redelivered with backoff (nak with delay); after `max_deliver`
attempts the message is parked — copied to the call's parked stream, counted in a metric and
logged — then terminated. Nothing is discarded silently; FastStream's own ack logic is off.

A reactor that dies with a message in flight (process killed, connection lost) holds it only
for `ack_wait` seconds (short: 5 s by default, AAP_ACK_WAIT_SECONDS); then the server delivers
it again, to this instance or to another of the same queue group. A long handler says it is
still working every `ack_wait / 2` (`in_progress`), so it is not redelivered meanwhile. The
service sets its own durable consumer's configuration at start (its NATS identity may create
and update that one consumer only, `aap_platform.natsauth`), so a consumer created with another
`ack_wait` is brought to the configured one by the next start; `check_consumer` says if not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from faststream.middlewares.acknowledgement.config import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker
from nats.js import api
from nats.js.errors import NotFoundError

from aap_contract.envelope import Event
from aap_contract.events import BY_NAME
from aap_platform import metrics
from aap_platform.codec import UnknownEvent, decode
from aap_platform.natsauth import inbox_prefix
from aap_platform.store import EventStore

log = logging.getLogger(__name__)
Handler = Callable[[Event, int], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A service's reaction, declared explicitly: `handler(event, stream_seq)` is called, in
    stream order, for each event of `types` on the subjects of `aggregates` (the server filters
    on them; empty: the whole stream). A type whose aggregate is not subscribed to is an error
    here, not a reaction that silently receives nothing."""

    handler: Handler
    aggregates: tuple[str, ...]
    types: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in self.types:
            if name not in BY_NAME:
                raise ValueError(f"unknown event type {name!r}")
            if self.aggregates and BY_NAME[name].aggregate not in self.aggregates:
                raise ValueError(
                    f"{name} is published on {BY_NAME[name].aggregate!r}, "
                    f"not among the subscribed aggregates {self.aggregates}"
                )


def parked_stream(store: EventStore) -> str:
    return store.stream + "_PARKED"


def parked_subject(store: EventStore, service: str) -> str:
    return f"aap-parked.{store.call_id}.{service}"


async def ensure_parked_stream(store: EventStore) -> None:
    name = parked_stream(store)
    try:
        await store.js.stream_info(name)
    except NotFoundError:
        await store.js.add_stream(
            api.StreamConfig(
                name=name,
                subjects=[f"aap-parked.{store.call_id}.>"],
                storage=api.StorageType.FILE,
                num_replicas=store.replicas,
            )
        )


async def _message(msg):
    """The handler gets FastStream's message itself: events are decoded by the contract's codec,
    and no dependency injection runs per message (a NatsMessage parameter costs a thread hop)."""
    return msg


def durable_name(service: str) -> str:
    return f"{service}-reactor"


DEFAULT_ACK_WAIT = 5.0


async def check_consumer(store: EventStore, service: str, ack_wait: float) -> list[str]:
    """How the service's durable consumer differs from what its reactor needs (raises
    NotFoundError when it is missing)."""
    info = await store.js.consumer_info(store.stream, durable_name(service))
    problems = []
    if info.config.ack_wait is not None and abs(info.config.ack_wait - ack_wait) > 0.01:
        problems.append(
            f"consumer {durable_name(service)} has ack_wait={info.config.ack_wait:g}s, not {ack_wait:g}s "
            "(restart the service to update it)"
        )
    return problems


async def update_consumer(store: EventStore, service: str, ack_wait: float) -> bool:
    """Bring the service's existing durable consumer to `ack_wait` (True if it was changed; a
    missing consumer is created by the reactor's subscription itself). Through the legacy
    durable-create request, the one the service's identity may send for its own consumer."""
    try:
        info = await store.js.consumer_info(store.stream, durable_name(service))
    except NotFoundError:
        return False
    if info.config.ack_wait is not None and abs(info.config.ack_wait - ack_wait) <= 0.01:
        return False
    await store.js.add_consumer(store.stream, info.config.evolve(name=None, ack_wait=ack_wait, metadata=None))
    log.warning(
        "%s: consumer %s updated: ack_wait %ss -> %ss", service, durable_name(service), info.config.ack_wait, ack_wait
    )
    return True


class _StillWorking:
    """Tells the server, every `every` seconds while a handler runs, that the message is still
    being handled (`in_progress`). A timer, not a task per message: nothing runs for a quick handler."""

    __slots__ = ("_handle", "_loop", "_sending", "every", "raw")

    def __init__(self, raw, every: float) -> None:
        self.raw, self.every = raw, every
        self._loop = asyncio.get_running_loop()
        self._sending: set[asyncio.Task] = set()
        self._handle = self._loop.call_later(every, self._tick)

    def _tick(self) -> None:
        task = self._loop.create_task(self._send())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        self._handle = self._loop.call_later(self.every, self._tick)

    async def _send(self) -> None:
        with contextlib.suppress(Exception):  # a lost connection: the redelivery is the answer
            await self.raw.in_progress()

    def cancel(self) -> None:
        self._handle.cancel()


def attach_reactor(
    broker: NatsBroker,
    store: EventStore,
    service: str,
    subscription: Subscription,
    *,
    max_deliver: int = 5,
    backoff: Sequence[float] = (0.2, 0.5, 1.0, 2.0, 5.0),
    ack_wait: float = DEFAULT_ACK_WAIT,
) -> None:
    """Subscribe the service's reaction with a durable consumer (see `Subscription`). A durable
    consumer that already exists keeps its filter: the handler still ignores what it does not
    react to. Events of other types are acknowledged without being decoded."""
    handler, types = subscription.handler, frozenset(subscription.types)
    aggregates = subscription.aggregates
    # One aggregate: the server filters on it; several, or none: the whole stream, filtered here.
    subject = f"aap.{store.call_id}.{aggregates[0]}.>" if len(aggregates) == 1 else store.all_subjects
    # Series at 0 from the start: increase() sees the first redelivery or parked message.
    metrics.REDELIVERIES.labels(service)
    metrics.PARKED.labels(service)

    @broker.subscriber(
        subject,
        stream=JStream(store.stream, declare=False),
        # Pushed, one in flight: the ack brings the next event (no fetch request per event).
        # The queue group is the durable's name; a second instance of the service joins it.
        queue=durable_name(service),
        # A short ack_wait: a message in flight in a dead instance is delivered again within seconds.
        config=ConsumerConfig(
            # A fixed delivery subject (in the service's own inbox space): two instances starting at
            # once both create the durable with the same configuration, which the server takes as one
            # (a per-instance inbox made the second creation fail: "consumer name already in use").
            deliver_subject=f"{inbox_prefix(service)}.reactor",
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            deliver_policy=api.DeliverPolicy.ALL,
            max_ack_pending=1,
        ),
        ack_policy=AckPolicy.MANUAL,
        decoder=_message,
        title=f"{service}-reactor",
        description=f"The {service} service's reactions to the call's events",
    )
    async def on_event(msg) -> None:  # msg: NatsMessage, from `_message`
        raw = msg.raw_message
        meta = raw.metadata
        seq, attempt = meta.sequence.stream, meta.num_delivered
        metrics.CONSUMER_PENDING.labels(service).set(meta.num_pending)
        kind = raw.headers.get("Aap-Type") if raw.headers else None
        if kind is not None and kind not in types:
            await msg.ack()  # not a type this service reacts to: not decoded
            return
        try:
            event = decode(raw.data)
        except UnknownEvent:
            await msg.ack()
            return
        except Exception as exc:  # noqa: BLE001 — unreadable: refused at once, no retry
            if store.guard is not None:
                await store.guard.refuse(seq, raw.subject, raw.data, f"unreadable event: {exc}")
            await msg.ack()
            return
        if event.type not in types:
            await msg.ack()
            return
        if store.guard is not None:
            problem = store.guard.problem(raw.subject, raw.headers, raw.data, event)
            if problem is not None:
                await store.guard.refuse(seq, raw.subject, raw.data, problem)
                await msg.ack()
                return
        started = time.perf_counter()
        keepalive = _StillWorking(raw, ack_wait / 2)
        try:
            await handler(event, seq)
        except Exception:
            if attempt >= max_deliver:
                await _park(store, service, raw, attempt)
                await msg.ack()
                return
            metrics.REDELIVERIES.labels(service).inc()
            delay = backoff[min(attempt, len(backoff)) - 1]
            log.warning(
                "%s: handler failed on %s #%d (attempt %d), retry in %.1fs",
                service,
                event.type,
                seq,
                attempt,
                delay,
                exc_info=True,
            )
            await msg.nack(delay=delay)
            return
        finally:
            keepalive.cancel()
        metrics.HANDLER_SECONDS.labels(service, event.type).observe(time.perf_counter() - started)
        metrics.EVENTS_CONSUMED.labels(service, event.type).inc()
        await msg.ack()


async def _park(store: EventStore, service: str, raw, attempt: int) -> None:
    seq = raw.metadata.sequence.stream
    headers = {
        "Aap-Original-Seq": str(seq),
        "Aap-Original-Subject": raw.subject,
        "Aap-Attempts": str(attempt),
        "Nats-Msg-Id": f"{service}-parked-{seq}",
    }
    await store.js.publish(parked_subject(store, service), raw.data, headers=headers)
    metrics.PARKED.labels(service).inc()
    log.error(
        "%s: PARKED event at stream sequence %d (%s) after %d attempts; see stream %s",
        service,
        seq,
        raw.subject,
        attempt,
        parked_stream(store),
    )


async def reactor_lag(store: EventStore, service: str) -> int:
    """Events not yet acknowledged by the service's reactor (pending + in flight); raises
    NotFoundError when the consumer (or the stream) is missing."""
    info = await store.js.consumer_info(store.stream, durable_name(service))
    lag = info.num_pending + info.num_ack_pending
    metrics.CONSUMER_PENDING.labels(service).set(lag)
    return lag
