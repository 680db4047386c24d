"""Démarche Numérique's GraphQL API over HTTP: paced under DN's limit, patient when DN is down.

- Pacing: a token bucket keeps any 60-second window at or under `requests_per_minute` (DN's limit
  is 400 a minute per token): a burst of `capacity`, then `(limit - capacity) / 60` per second.
- HTTP 429: wait `Retry-After`, then send again (counted, never an error).
- DN unreachable (connection error, HTTP 5xx): wait with growing delays and send again, for up to
  `patience` seconds (None: forever); `status.reachable` is false meanwhile.
- HTTP 401/403, or a root error `unauthorized`: `DnAuthError` (a token problem; retrying is useless).
- Any other root `errors`, or a mutation payload's `errors`: `DnGraphQLError` — a failure, never a
  success; the caller retries (next pass, reactor redelivery) and parks.

The token is sent in the Authorization header only: never logged, never in an error message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.connector import metrics

log = logging.getLogger(__name__)
DOCUMENTS = Path(__file__).resolve().parent / "graphql"
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
EXPIRED = (403, 404, 410)


class DnError(Exception):
    """A failure of DN's API (never carries the token)."""


class DnAuthError(DnError):
    pass


class DnGraphQLError(DnError):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages) or "erreur GraphQL")
        self.messages = messages


class DnUnavailable(DnError):
    pass


def document(name: str) -> str:
    return (DOCUMENTS / f"{name}.graphql").read_text(encoding="utf-8")


class Pacer:
    """A token bucket; `acquire()` waits for a token."""

    def __init__(self, requests_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = max(1, requests_per_minute // 20)
        self.rate = max(requests_per_minute - self.capacity, 1) / 60.0
        self.clock = clock
        self.tokens = float(self.capacity)
        self.stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def delay(self) -> float:
        """Seconds until a token is free (0: now); takes it when free."""
        self._refill()
        if self.tokens >= 1 - 1e-9:  # a float refill may stop a hair short of 1
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self.delay()) > 0:
                await asyncio.sleep(wait)


@dataclass
class DnStatus:
    """What /health/ready and the metrics say of DN."""

    reachable: bool = True
    last_error: str | None = None
    unreachable_since: float | None = None
    requests: int = 0
    rate_limited: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "last_error": self.last_error,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
        }


@dataclass
class DnClient:
    url: str
    token: str = field(repr=False)
    requests_per_minute: int = 400
    patience: float | None = None
    backoff: tuple[float, ...] = BACKOFF
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30.0))
    status: DnStatus = field(default_factory=DnStatus)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.requests_per_minute)
        metrics.DN_REACHABLE.set(1)  # until a request says otherwise

    async def close(self) -> None:
        await self.http.aclose()

    async def _unreachable(self, why: str, attempt: int, started: float) -> None:
        if self.status.reachable:
            log.warning("Démarche Numérique injoignable (%s) : nouvel essai en attente", why)
            self.status.unreachable_since = time.monotonic()
        self.status.reachable, self.status.last_error = False, why
        metrics.DN_REACHABLE.set(0)
        if self.patience is not None and time.monotonic() - started > self.patience:
            raise DnUnavailable(f"Démarche Numérique injoignable : {why}")
        await asyncio.sleep(self.backoff[min(attempt, len(self.backoff) - 1)])

    async def post(self, query: str, variables: dict[str, Any], operation: str) -> dict[str, Any]:
        """The `data` of one GraphQL request, after waiting out 429s and DN being down."""
        started, attempt = time.monotonic(), 0
        while True:
            await self.pacer.acquire()
            self.status.requests += 1
            try:
                response = await self.http.post(
                    self.url,
                    json={"query": query, "variables": variables, "operationName": operation},
                    headers={"Authorization": f"Bearer {self.token}"},
                )
            except httpx.TransportError as exc:
                metrics.DN_REQUESTS.labels(operation, "unreachable").inc()
                await self._unreachable(type(exc).__name__, attempt, started)
                attempt += 1
                continue
            if response.status_code == 429:
                self.status.rate_limited += 1
                metrics.DN_REQUESTS.labels(operation, "rate_limited").inc()
                await asyncio.sleep(_retry_after(response.headers.get("retry-after")))
                continue
            if response.status_code >= 500:
                metrics.DN_REQUESTS.labels(operation, "unreachable").inc()
                await self._unreachable(f"HTTP {response.status_code}", attempt, started)
                attempt += 1
                continue
            if not self.status.reachable:
                log.warning("Démarche Numérique de nouveau joignable")
            self.status.reachable, self.status.unreachable_since = True, None
            metrics.DN_REACHABLE.set(1)
            if response.status_code in (401, 403):
                metrics.DN_REQUESTS.labels(operation, "unauthorized").inc()
                raise DnAuthError(f"jeton refusé par Démarche Numérique (HTTP {response.status_code})")
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                metrics.DN_REQUESTS.labels(operation, "error").inc()
                raise DnGraphQLError([f"réponse illisible (HTTP {response.status_code})"])
            errors = body.get("errors") or []
            if errors:
                metrics.DN_REQUESTS.labels(operation, "error").inc()
                codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
                messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
                self.status.last_error = "; ".join(messages)[:500]
                if "unauthorized" in codes:
                    raise DnAuthError("jeton refusé par Démarche Numérique : " + "; ".join(messages))
                raise DnGraphQLError(messages)
            metrics.DN_REQUESTS.labels(operation, "ok").inc()
            return body.get("data") or {}

    async def query(self, name: str, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await self.post(document(name), variables, operation)

    async def mutate(self, name: str, operation: str, field_name: str, payload_input: dict[str, Any]) -> dict[str, Any]:
        """A mutation's payload; its `errors` (errors as data) raise DnGraphQLError."""
        data = await self.post(document(name), {"input": payload_input}, operation)
        payload = data.get(field_name) or {}
        errors = payload.get("errors") or []
        if errors or not payload:
            raise DnGraphQLError([e.get("message", "") for e in errors] or ["réponse de mutation vide"])
        return payload

    async def download(self, url: str) -> bytes | None:
        """A file's bytes; None when its URL has expired (DN's links last one hour)."""
        started, attempt = time.monotonic(), 0
        while True:
            try:
                response = await self.http.get(url)
            except httpx.TransportError as exc:
                await self._unreachable(type(exc).__name__, attempt, started)
                attempt += 1
                continue
            if response.status_code in EXPIRED:
                return None
            if response.status_code >= 500 or response.status_code == 429:
                await self._unreachable(f"HTTP {response.status_code}", attempt, started)
                attempt += 1
                continue
            response.raise_for_status()
            return response.content


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.0), 600.0)
    except ValueError:
        return 60.0
