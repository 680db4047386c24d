"""A lease among a service's instances: the one that holds it does the work that must be done
once (the notifier's sending, the connector's polling); the others wait, and one of them takes
over within seconds when the holder dies.

The lease is one key (the service's name) in the call's `aap_leases` bucket, written only with
the revision read before (compare-and-set), so two instances never both win it. The holder
renews it every `ttl / 4`; another instance takes it when it has seen the same revision for
`ttl` seconds on its own monotonic clock (no wall clocks compared). The holder stops working as
soon as its last renewal is `ttl / 2` old — before anyone may take over — and a graceful stop
hands the lease over at once (the key deleted)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError

from aap_platform.objects import bucket_name

log = logging.getLogger(__name__)
DEFAULT_TTL = 5.0


def leases_bucket(call_id: str) -> str:
    return bucket_name("aap_leases", call_id)


class Lease:
    def __init__(
        self,
        js: JetStreamContext,
        call_id: str,
        service: str,
        instance: str,
        ttl: float = DEFAULT_TTL,
        on_acquired: Callable[[], None] | None = None,
    ) -> None:
        self.js, self.call_id, self.key, self.instance = js, call_id, service, instance
        self.ttl = ttl
        self.on_acquired = on_acquired
        self.holder = False
        self._revision = 0  # the key's revision as this instance last wrote or saw it
        self._seen_at = 0.0  # when this instance first saw `_revision` (monotonic)
        self._renewed_at = 0.0  # when the renewal that holds the lease was sent (monotonic)
        self._kv: Any = None
        self._task: asyncio.Task | None = None

    def held(self) -> bool:
        """Whether this instance may work now: it holds the lease and renewed it lately enough."""
        return self.holder and time.monotonic() - self._renewed_at < self.ttl / 2

    async def start(self) -> None:
        try:
            self._kv = await self.js.key_value(leases_bucket(self.call_id))
        except (BucketNotFoundError, NotFoundError):
            raise RuntimeError(
                f"{self.key}: the bucket {leases_bucket(self.call_id)} is missing "
                "(run `aap setup` as the administrator)"
            ) from None
        await self.step()
        self._task = asyncio.create_task(self._loop(), name=f"lease-{self.key}")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 4)
            try:
                await asyncio.wait_for(self.step(), self.ttl / 4)
            except Exception as exc:  # noqa: BLE001 — the bus unreachable: `held()` runs out by itself
                log.warning("lease %s: %s: %r", self.key, "renewal failed" if self.holder else "check failed", exc)

    async def step(self) -> None:
        """Renew the lease if held; else take it if it is free or its holder stopped renewing."""
        kv, now = self._kv, time.monotonic()
        assert kv is not None
        value = self.instance.encode()
        if self.holder:
            try:
                self._revision = await kv.update(self.key, value, last=self._revision)
                self._renewed_at = now
            except Exception:
                self.holder = False  # another took it (or the answer was lost: it will be seen)
                log.warning("lease %s: lost by %s", self.key, self.instance)
                raise
            return
        try:
            entry = await kv.get(self.key)
        except KeyNotFoundError:  # never held, or handed over: whoever writes first has it
            with contextlib.suppress(Exception):
                await self._won(await kv.create(self.key, value), now)
            return
        if entry.revision != self._revision:
            self._revision, self._seen_at = entry.revision, now
            return
        if now - self._seen_at >= self.ttl:  # its holder has not renewed it for a whole ttl
            with contextlib.suppress(Exception):
                await self._won(await kv.update(self.key, value, last=entry.revision), now)

    async def _won(self, revision: int, sent_at: float) -> None:
        self.holder, self._revision, self._renewed_at = True, revision, sent_at
        log.info("lease %s: held by %s", self.key, self.instance)
        if self.on_acquired is not None:
            self.on_acquired()

    def crash(self) -> None:
        """Tests: stop renewing without handing the lease over, as a killed process does."""
        if self._task is not None:
            self._task.cancel()
        self.holder = False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 1.0)
        if self.holder and self._kv is not None:
            self.holder = False
            with contextlib.suppress(Exception):  # not handed over: the other takes it after ttl
                await asyncio.wait_for(self._kv.delete(self.key, last=self._revision), 1.0)

    def as_dict(self) -> dict:
        return {"lease": self.key, "lease_holder": self.held(), "instance": self.instance}
