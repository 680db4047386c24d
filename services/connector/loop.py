"""The connector's sync loop: a pass every `poll_interval_seconds`, or at once on `POST /sync`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aap_platform.lease import Lease
from services.connector.sync import Summary, Sync

log = logging.getLogger(__name__)


class SyncLoop:
    """Runs a pass every `interval` seconds, or at once when triggered; DN down only makes a pass
    longer (the client waits and resumes); any other failure is logged and shown in /health/ready,
    and the next pass starts from the saved cursor."""

    def __init__(self, make: Callable[[], Sync], interval: float, lease: Lease | None = None) -> None:
        self.make, self.interval = make, interval
        self.lease = lease  # several instances: only the lease's holder polls DN
        self.last: Summary | None = None
        self.last_at: datetime | None = None
        self.last_error: str | None = None
        self.running = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def trigger(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            if self.lease is not None and not self.lease.held():
                self._wake.clear()
                with contextlib.suppress(TimeoutError):  # woken when the lease is won
                    await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
                continue
            self.running = True
            try:
                self.last = await self.make().run_once()
                self.last_at, self.last_error = datetime.now().astimezone(), None
                log.info("DN sync pass done: %s", self.last.french().replace("\n", " | "))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — shown, then the next pass tries again
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.error("DN sync pass failed: %s", self.last_error)
            finally:
                self.running = False
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass

    def as_dict(self) -> dict[str, Any]:
        return {
            "syncing": self.running,
            "last_sync": self.last_at.isoformat() if self.last_at else None,
            "last_sync_error": self.last_error,
            **({"dn_poller": self.lease.held()} if self.lease is not None else {}),
        }
