"""Handling a command: load the aggregate, decide, append the one event — again on a conflict."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aap_contract.envelope import Event
from aap_contract.events import EventData
from aap_platform import privacy
from aap_platform.store import ConcurrencyError, EventStore, Loaded

Decide = Callable[[Loaded], EventData | None]


async def execute(
    store: EventStore,
    aggregate_type: str,
    aggregate_id: str,
    decide: Decide,
    *,
    actor: str,
    now: Callable[[], datetime],
    causation: Event | None = None,
    event_id: str | None = None,
    attempts: int = 20,
    on_load: Callable[[Loaded], Awaitable[None]] | None = None,
    on_append: Callable[[int], None] | None = None,
    fresh: bool = False,
    replays: bool = False,
) -> Event | None:
    """Load, decide, append; on a concurrency conflict, decide again on the fresh state.
    `decide` raises a refusal or returns the one event to record (None: nothing to do);
    `on_append` is told the recorded event's stream sequence.

    `fresh`: the aggregate is almost surely new (a new id, a first submission), so the first
    decision is made on the empty aggregate without reading it — one round trip fewer. The
    append names version 0, so the server still checks the guess; a decision that would record
    nothing on the guess is taken again on what is really stored.

    `replays`: the event id is an idempotency key's; found already stored (a concurrent request
    with the same key won), the command is decided again on what is stored, so that `decide`
    sees the first request's event and answers it as a replay (or refuses another body)."""
    guess = fresh
    for _ in range(attempts):
        if guess:
            loaded = Loaded(aggregate_type, aggregate_id, [])
        else:
            loaded = await store.load(aggregate_type, aggregate_id)
        if on_load is not None:
            await on_load(loaded)
        try:
            data = decide(loaded)
        except Exception:
            if guess:  # refused on the guess: decide on what is stored
                guess = False
                continue
            raise
        if data is None:
            if guess:
                guess = False
                continue
            return None
        data = await privacy.seal(store, data)  # personal fields encrypted with their subject's key
        event = loaded.next(data, actor=actor, at=now(), causation=causation, event_id=event_id)
        try:
            seq = await store.append(event, loaded.version, found_is_conflict=replays)
            if on_append is not None:
                on_append(seq)
            return event
        except ConcurrencyError:
            guess = False
            continue
    raise ConcurrencyError(f"{aggregate_type}/{aggregate_id}: too much contention")
