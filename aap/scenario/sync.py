"""Waiting for quiescence, as docs/ARCHITECTURE.md "Quiescence" defines it.

1. After the clock is set to revision R: every service reports `clock_revision >= R`.
2. Then, with L the stream's last sequence: every service reports `position >= L`,
   `reactor_lag == 0`, `busy == 0` (all in the same round of polls); done when L has not moved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

import httpx
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from aap_platform.clock import set_clock
from aap_platform.natsauth import Credentials, connect_options
from aap_platform.store import stream_name

Condition = Callable[[dict], bool]


async def connect(url: str, credentials: Credentials | None = None) -> Client:
    """A NATS connection that fails at once (a few tries) when the server is not there."""

    async def quiet(_: Exception) -> None:
        pass

    return await nats.connect(
        [u.strip() for u in url.split(",") if u.strip()],  # a cluster: its comma-separated URLs
        connect_timeout=2,
        max_reconnect_attempts=2,
        reconnect_time_wait=0.5,
        allow_reconnect=False,
        pending_size=0,  # nothing kept to be sent after a command gave up
        error_cb=quiet,
        **connect_options(credentials),
    )


class StuckError(RuntimeError):
    """A service did not reach quiescence in time; the message names it."""


class Quiescence:
    def __init__(
        self,
        client: httpx.AsyncClient,
        urls: dict[str, str],
        js: JetStreamContext,
        call_id: str,
        timeout: float = 30.0,
        poll: float = 0.02,
    ) -> None:
        self.client = client
        self.urls = urls
        self.js = js
        self.call_id = call_id
        self.timeout = timeout
        self.poll = poll

    async def move_clock(self, at: datetime | None) -> int:
        revision = await set_clock(self.js, self.call_id, at)
        await self._until(
            lambda r: r.get("clock_revision", -1) >= revision,
            f"clock_revision >= {revision} (clock set to {at.isoformat() if at else 'real'})",
        )
        return revision

    async def settle(self) -> int:
        """Waits until everything the stream holds is processed; returns the last sequence."""
        deadline = time.monotonic() + self.timeout
        while True:
            last = await self.last_sequence()
            await self._until(
                lambda r: r.get("position", -1) >= last and r.get("reactor_lag") == 0 and r.get("busy") == 0,  # noqa: B023 (awaited in this iteration)
                f"position >= {last}, reactor_lag == 0, busy == 0",
                deadline,
            )
            if await self.last_sequence() == last:
                return last

    async def last_sequence(self) -> int:
        info = await self.js.stream_info(stream_name(self.call_id))
        return info.state.last_seq

    async def _until(self, condition: Condition, wanted: str, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + self.timeout
        while True:
            reports = await asyncio.gather(*(self._ready(url) for url in self.urls.values()))
            behind = {name: report for name, report in zip(self.urls, reports) if not condition(report)}
            if not behind:
                return
            if time.monotonic() > deadline:
                detail = "; ".join(f"{name} reports {report}" for name, report in behind.items())
                raise StuckError(
                    f"no quiescence after {self.timeout:.0f} s: service(s) "
                    f"{', '.join(behind)} did not reach {wanted}: {detail}"
                )
            await asyncio.sleep(self.poll)

    async def _ready(self, url: str) -> dict:
        try:
            response = await self.client.get(url + "/health/ready")
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
