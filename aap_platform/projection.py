"""The view runner: feeds a pure view (initial value + evolve) with the call's stream.

It remembers the stream sequence of the last event applied and never applies one twice;
`ready` is set once it has caught up with the stream as it stood at start. It also follows the
log's hash chain as it goes (the link `Aap-Hash` of the message at its position, and the seal
digest of messages 1..position), which a snapshot of the view records (`aap_platform.snapshot`).

After a reconnection (`resume`, called on the connection's reconnected callback) the view's
consumer is re-created from `position + 1` at once, instead of waiting for the ordered
consumer's missed heartbeats: an event is never applied twice nor skipped.
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
from aap_platform.follow import HEARTBEAT, resubscribe
from aap_platform.seal import Digest
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
        self.link = ""  # the `Aap-Hash` of the message at `position`
        # the seal digest of messages 1..position; None after a snapshot's load until the
        # background check of the chain has recomputed it (the links met meanwhile are `pending`)
        self.digest: Digest | None = Digest()
        self.pending: list[tuple[int, str]] = []
        self._store: EventStore | None = None
        self._resuming: asyncio.Lock = asyncio.Lock()
        self.resumes = 0

    def reset(self) -> None:
        """Back to the first event (a refused snapshot, a failed check of the chain)."""
        self.state = self.initial()
        self.position = 0
        self.link = ""
        self.digest = Digest()
        self.pending = []
        self.ready.clear()

    def loaded(self, state: S, position: int, link: str) -> None:
        """Start from a verified snapshot's state at `position` (its chain digest checked later)."""
        self.state = state
        self.position = position
        self.link = link
        self.digest = None
        self.pending = []

    def chained(self, digest: Digest) -> None:
        """The chain's digest up to the snapshot's position, checked: fold in the links met since."""
        for seq, link in self.pending:
            if seq > digest.seq:
                digest.add(seq, link)
        self.pending = []
        self.digest = digest

    def chain(self, seq: int, headers: Any) -> None:
        link = (headers.get("Aap-Hash") if headers else None) or ""
        self.link = link
        if self.digest is not None:
            self.digest.add(seq, link)
        else:
            self.pending.append((seq, link))

    def apply(self, seq: int, event: Event) -> bool:
        """Apply the event at stream sequence `seq`, unless it was applied already."""
        if seq <= self.position:
            return False
        self.state = self.evolve(self.state, event)
        self._advance(seq)
        return True

    def _advance(self, seq: int) -> None:
        if seq < self.position:
            return  # a replaced consumer's last message, after an await: the view is past it
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
        self._store = store
        self._target = await store.last_sequence()
        if self.position >= self._target:
            self.ready.set()
        elif not self._catching_up:
            self._catching_up = True
            catchup.begin()
        # read at scrape time: no per-event cost on the replay path
        metrics.VIEW_POSITION.labels(self.name).set_function(lambda: self.position)

        await self._subscribe(store)

    async def _subscribe(self, store: EventStore) -> None:
        types, evolve, ready, decode_, guard = self.types, self.evolve, self.ready, self.decode, self.guard
        chain = self.chain

        async def on_msg(msg) -> None:
            if self._sub is not sub_ref[0]:
                return  # a consumer replaced by `resume`: its last messages are not ours any more
            # The stream sequence from the ack subject `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...`
            # (cheaper than building `msg.metadata`; other layouts, e.g. with a domain, go through it).
            tokens = msg.reply.split(".")
            seq = int(tokens[5]) if len(tokens) == 9 else msg.metadata.sequence.stream
            if seq <= self.position:
                return
            headers = msg.headers
            chain(seq, headers)
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

        sub_ref: list[Any] = [None]
        self._sub = sub_ref[0] = await store.js.subscribe(
            store.all_subjects,
            stream=store.stream,
            cb=on_msg,
            ordered_consumer=True,
            idle_heartbeat=HEARTBEAT,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            config=api.ConsumerConfig(opt_start_seq=self.position + 1),
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )

    async def resume(self, attempts: int = 50) -> None:
        """Re-create the view's consumer from `position + 1` (after a reconnection: the ordered
        consumer the server lost would otherwise be noticed only after missed heartbeats)."""
        if self._store is None:
            return
        async with self._resuming:
            old, self._sub = self._sub, None
            store = self._store
            await resubscribe(
                old, lambda: self._subscribe(store), f"view {self.name} from #{self.position + 1}", attempts
            )
            self.resumes += 1

    async def restart(self) -> None:
        """From the first event again, live (a snapshot found wrong after ready): not ready meanwhile."""
        if self._store is None:
            return
        async with self._resuming:
            await self.stop()
            self.reset()
            await self.start(self._store)

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
