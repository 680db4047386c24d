"""Following the call's stream with an ordered consumer (the views, the committee's sealer): its
heartbeat, and how it is re-created after a reconnection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)
# The ordered consumer's idle heartbeat (s): a consumer lost without a reconnection of ours (its
# node gone, our server still up) is re-created after two missed ones, not ten seconds later.
HEARTBEAT = 1.0


async def resubscribe(old: Any, subscribe: Callable[[], Awaitable[None]], what: str, attempts: int = 50) -> None:
    """Drop the `old` subscription and `subscribe` again (it starts from the follower's next
    sequence), retried while JetStream is still recovering: after a reconnection the ordered
    consumer the server lost would otherwise be noticed only after missed heartbeats."""
    if old is not None:
        try:
            await old.unsubscribe()
        except Exception:  # noqa: BLE001 — a subscription the server already forgot
            pass
    for attempt in range(attempts):
        try:
            await subscribe()
            log.info("%s resumed", what)
            return
        except Exception as exc:  # noqa: BLE001 — JetStream still recovering: try again
            if attempt == attempts - 1:
                log.error("%s could not resume: %r", what, exc)
                raise
            await asyncio.sleep(min(0.1 * (attempt + 1), 1.0))
