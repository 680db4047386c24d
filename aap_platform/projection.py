"""The view runner: feeds a pure view (initial value + evolve) with the call's stream.

It remembers the stream sequence of the last event applied and never applies one twice;
`ready` is set once it has caught up with the stream as it stood at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from typing import Any, Generic, TypeVar

from nats.js import api

from aap_contract.envelope import Event
from aap_platform import catchup, metrics
from aap_platform.codec import UnknownEvent, decode
from aap_platform.store import EventStore

S = TypeVar("S")
log = logging.getLogger(__name__)


class Projection(Generic[S]):
    """`types`: the event types `evolve` acts on (None: all). The others still advance the
    position but are neither decoded nor applied (the type is read from the `Aap-Type` header):
    `evolve` must leave the view unchanged for them."""

    def __init__(
        self,
        name: str,
        initial: Callable[[], S],
        evolve: Callable[[S, Event], S],
        types: Collection[str] | None = None,
        decode: Callable[..., Event] = decode,
    ) -> None:
        self.name = name
        self.initial = initial  # the view's first state, and how an event changes it
        self.evolve = evolve
        self.types = frozenset(types) if types is not None else None
        self.decode = decode  # e.g. decoder_with(SUMMARY_READING): a summary view's own reading
        self.state: S = initial()
        self.position = 0
        self.ready = asyncio.Event()
        self._target = 0
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._sub: Any = None
        self._catching_up = False
        self.guard: Any = None  # an aap_platform.guard.Guard: events it refuses are skipped, not applied

    def apply(self, seq: int, event: Event) -> bool:
        """Apply the event at stream sequence `seq`, unless it was applied already."""
        if seq <= self.position:
            return False
        self.state = self.evolve(self.state, event)
        self._advance(seq)
        return True

    def _advance(self, seq: int) -> None:
        self.position = seq
        if not self.ready.is_set() and seq >= self._target:
            self.ready.set()
            self._caught_up()
        if self._waiters:
            due = [w for w in self._waiters if w[0] <= seq]
            self._waiters = [w for w in self._waiters if w[0] > seq]
            for _, fut in due:
                if not fut.done():
                    fut.set_result(None)

    async def wait_for(self, seq: int, timeout: float | None = None) -> None:
        if self.position >= seq:
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, fut))
        await asyncio.wait_for(fut, timeout)

    async def start(self, store: EventStore) -> None:
        """Subscribe from the event after the current position (0: from the first event)."""
        self._target = await store.last_sequence()
        if self.position >= self._target:
            self.ready.set()
        elif not self._catching_up:
            self._catching_up = True
            catchup.begin()
        # read at scrape time: no per-event cost on the replay path
        metrics.VIEW_POSITION.labels(self.name).set_function(lambda: self.position)

        types, evolve, ready, decode_, guard = self.types, self.evolve, self.ready, self.decode, self.guard

        async def on_msg(msg) -> None:
            # The stream sequence from the ack subject `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...`
            # (cheaper than building `msg.metadata`; other layouts, e.g. with a domain, go through it).
            tokens = msg.reply.split(".")
            seq = int(tokens[5]) if len(tokens) == 9 else msg.metadata.sequence.stream
            if seq <= self.position:
                return
            headers = msg.headers
            kind = headers.get("Aap-Type") if headers else None
            if kind is not None and types is not None and kind not in types:
                self._advance(seq)  # a type this view does not follow: nothing to decode
                return
            try:
                event = decode_(msg.data, kind)
            except UnknownEvent as exc:  # a newer service's event: skip, but say so
                log.warning("view %s skips unknown event type %s at %d", self.name, exc, seq)
                self._advance(seq)
                return
            except Exception as exc:  # noqa: BLE001 — unreadable: refused, never a stuck view
                if guard is not None:
                    await guard.refuse(seq, msg.subject, msg.data, f"unreadable event: {exc}")
                else:
                    log.error("view %s skips an unreadable event at %d: %s", self.name, seq, exc)
                self._advance(seq)
                return
            if guard is not None:
                problem = guard.problem(msg.subject, headers, msg.data, event)
                if problem is not None:
                    await guard.refuse(seq, msg.subject, msg.data, problem)
                    self._advance(seq)
                    return
            self.state = evolve(self.state, event)
            if self._waiters or not ready.is_set():
                self._advance(seq)
            else:
                self.position = seq  # the common case of _advance, inline

        self._sub = await store.js.subscribe(
            store.all_subjects,
            stream=store.stream,
            cb=on_msg,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            config=api.ConsumerConfig(opt_start_seq=self.position + 1),
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )

    def _caught_up(self) -> None:
        if self._catching_up:
            self._catching_up = False
            catchup.end()

    async def stop(self) -> None:
        self._caught_up()
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    def rebuild(self, events: list[tuple[int, Event]]) -> S:
        """The view rebuilt from scratch from (sequence, event) pairs — for audits and tests."""
        state = self.initial()
        for _, event in events:
            state = self.evolve(state, event)
        return state
