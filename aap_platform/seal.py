"""Seals: the log's digest up to a sequence, signed and kept twice — appended to the stream as a
`LogSealed` event and written outside the bus (a JSON-lines file under the data folder by
default) — so that a log that lost events, or was deleted and recreated, no longer matches.

The digest chains, for every message 1..N in order, its sequence and its link (`Aap-Hash`, the
hash of its bytes and of its aggregate's previous link): `aap audit verify` recomputes it from
the events' contents. The committee seals at each session closing and every `seal_minutes`.
With two committee instances, both follow the log and try to seal; the seal aggregate's version
makes one append win, and the other, reloading, finds the range sealed and seals nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from nats.js import api

from aap_contract.events import LogSealed
from aap_platform import metrics
from aap_platform.follow import HEARTBEAT, resubscribe
from aap_platform.store import ConcurrencyError, EventStore

log = logging.getLogger(__name__)
SEAL_TRIGGERS = ("SessionClosed",)


class Digest:
    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.seq = 0

    def add(self, seq: int, link: str) -> None:
        self._h.update(f"{seq}:{link}\n".encode())
        self.seq = seq

    def hexdigest(self) -> str:
        return self._h.hexdigest()


class SealLine(msgspec.Struct):
    """One seal as written outside the bus: the stored message itself (as `aap audit export`)."""

    seq: int
    subject: str
    headers: dict[str, str]
    data_b64: str


def seal_file(seal_dir: Path, call_id: str) -> Path:
    return Path(seal_dir) / f"{call_id}.seals.jsonl"


class Sealer:
    """Follows the stream's headers (no payload is read: the link is in `Aap-Hash`) and seals."""

    def __init__(self, store: EventStore, service: str, file: Path, every_minutes: float = 0.0) -> None:
        self.store = store
        self.service = service
        self.file = Path(file)
        self.every = every_minutes * 60
        self.digest = Digest()
        self.sealed = 0
        self._due: asyncio.Event = asyncio.Event()
        self._sub: Any = None
        self._on_msg: Any = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        async def on_msg(msg) -> None:
            seq = msg.metadata.sequence.stream
            headers = msg.headers or {}
            if seq <= self.digest.seq:
                return
            self.digest.add(seq, headers.get("Aap-Hash", ""))
            kind = headers.get("Aap-Type")
            if kind == "LogSealed":
                self.sealed = seq
            elif kind in SEAL_TRIGGERS:
                self._due.set()

        self._on_msg = on_msg
        await self._subscribe()
        self._task = asyncio.create_task(self._loop())

    async def _subscribe(self) -> None:
        """Follow the headers from the one after the last folded in (the digest stays contiguous)."""
        self._sub = await self.store.js.subscribe(
            self.store.all_subjects,
            stream=self.store.stream,
            cb=self._on_msg,
            ordered_consumer=True,
            idle_heartbeat=HEARTBEAT,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            config=api.ConsumerConfig(opt_start_seq=self.digest.seq + 1),
            headers_only=True,
        )

    async def resume(self, attempts: int = 50) -> None:
        """After a reconnection, as the views do: a new consumer from the next sequence at once,
        rather than the ordered consumer noticing its loss after missed heartbeats."""
        if self._sub is None:
            return
        old, self._sub = self._sub, None
        await resubscribe(old, self._subscribe, f"{self.service}: the sealer from #{self.digest.seq + 1}", attempts)

    async def _loop(self) -> None:
        while True:
            reason = "session_closed"
            try:
                await asyncio.wait_for(self._due.wait(), self.every or None)
            except TimeoutError:
                reason = "periodic"
            self._due.clear()
            await asyncio.sleep(0.2)  # let the messages right after the trigger be folded in
            try:
                await self.seal(reason)
            except Exception:
                log.exception("%s: sealing failed; it will be tried again", self.service)

    async def seal(self, reason: str) -> int | None:
        """Append a seal of the log as followed so far (None when nothing new since the last)."""
        last, digest = self.digest.seq, self.digest.hexdigest()
        if last == 0 or last <= self.sealed:
            return None
        for _ in range(5):
            loaded = await self.store.load("seal", self.store.call_id)
            # another instance of the service (two committees) sealed this range already: not twice
            if loaded.events and getattr(loaded.events[-1].data, "last_seq", 0) >= last:
                self.sealed = max(self.sealed, loaded.version)
                return None
            event = loaded.next(
                LogSealed(last_seq=last, digest=digest, reason=reason),
                actor=self.service,
                at=datetime.now(UTC),
            )
            try:
                seq = await self.store.append(event, loaded.version)
                break
            except ConcurrencyError:
                continue
        else:
            return None
        msg = await self.store.js.get_msg(self.store.stream, seq=seq, direct=True)
        line = SealLine(seq, msg.subject or "", dict(msg.headers or {}), base64.b64encode(msg.data or b"").decode())
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with self.file.open("ab") as out:
            out.write(msgspec.json.encode(line) + b"\n")
        metrics.SEALS.labels(self.service).inc()
        log.info("%s: sealed the log up to #%d (%s) as #%d", self.service, last, digest[:16], seq)
        return seq

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._sub is not None:
            await self._sub.unsubscribe()
