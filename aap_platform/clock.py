"""The clock shared by every service: the real one, or a simulated instant.

The simulated instant lives in a JetStream key-value bucket; `aap clock set` writes it and
every service process watches it (and reads it every second: a watch stalls for seconds after a
broker restart or a node loss, the read does not). Time-driven work registers a callback that runs whenever
the clock moves (and every second on the real clock), so cut-offs and deadlines happen when
the clock passes them, whichever clock it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError

log = logging.getLogger(__name__)
KEY = "now"
REAL = b"real"
Tick = Callable[[datetime], Awaitable[None]]


def bucket_name(call_id: str) -> str:
    return "aap_clock_" + "".join(c if c.isalnum() else "_" for c in call_id)


async def clock_bucket(js: JetStreamContext, call_id: str):
    """The call's clock bucket (created by the administration set-up, `aap_platform.provision`)."""
    try:
        return await js.key_value(bucket_name(call_id))
    except (BucketNotFoundError, NotFoundError):
        raise RuntimeError(f"the clock bucket {bucket_name(call_id)} is missing: run `aap setup`") from None


def parse_instant(value: bytes | None) -> datetime | None:
    """The bucket's value: None for the real clock; ValueError for anything but a
    timezone-aware ISO-8601 instant."""
    if not value or value == REAL:
        return None
    instant = datetime.fromisoformat(value.decode())
    if instant.tzinfo is None:
        raise ValueError("a simulated instant must be timezone-aware")
    return instant


async def set_clock(js: JetStreamContext, call_id: str, instant: datetime | None) -> int:
    """Set the simulated instant (None: back to the real clock). Returns the revision."""
    if instant is not None and instant.tzinfo is None:
        raise ValueError("a simulated instant must be timezone-aware")
    kv = await clock_bucket(js, call_id)
    return await kv.put(KEY, instant.isoformat().encode() if instant else REAL)


class Clock:
    def __init__(self, fixed: datetime | None = None) -> None:
        self.simulated: datetime | None = fixed
        self.revision = 0
        self._ticks: list[Tick] = []
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._applying = asyncio.Lock()  # the watcher and the poll: each revision applied once

    def now(self) -> datetime:
        return self.simulated or datetime.now(UTC)

    def on_tick(self, tick: Tick) -> None:
        self._ticks.append(tick)

    async def _run_ticks(self) -> None:
        async with self._lock:
            for tick in self._ticks:
                try:
                    await tick(self.now())
                except Exception:
                    log.exception("time-driven work failed; it will run again on the next tick")

    async def _apply_newer(self, value: bytes | None, revision: int) -> None:
        async with self._applying:
            if revision > self.revision:
                await self._apply(value, revision)

    async def _apply(self, value: bytes | None, revision: int) -> None:
        try:
            self.simulated = parse_instant(value)
        except (ValueError, UnicodeDecodeError):
            log.error(
                "clock: ignored value %r at revision %d: not an ISO-8601 instant with its offset", value, revision
            )
            self.revision = revision
            return
        await self._run_ticks()
        self.revision = revision

    async def start(self, js: JetStreamContext, call_id: str) -> None:
        kv = await clock_bucket(js, call_id)
        try:
            entry = await kv.get(KEY)
            await self._apply(entry.value, entry.revision)
        except KeyNotFoundError:
            await self._apply(None, 0)
        watcher = await kv.watch(KEY, include_history=False)
        self._task = asyncio.create_task(self._loop(watcher, kv))

    async def _poll(self, kv) -> None:
        try:
            entry = await asyncio.wait_for(kv.get(KEY), 1.0)
        except Exception:  # noqa: BLE001 — missing key or bus away: the watcher or the next poll
            return
        await self._apply_newer(entry.value, entry.revision)

    async def _loop(self, watcher, kv=None) -> None:
        async def real_ticks() -> None:
            while True:
                await asyncio.sleep(1.0)
                if kv is not None:
                    await self._poll(kv)
                if self.simulated is None:
                    await self._run_ticks()

        ticker = asyncio.create_task(real_ticks())
        try:
            async for entry in watcher:
                if entry is None or entry.revision <= self.revision:
                    continue
                await self._apply_newer(entry.value, entry.revision)
        finally:
            ticker.cancel()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
