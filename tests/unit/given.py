"""Given: past events for the deciders' Given/When/Then tests, as the store would load them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import reduce
from typing import Any, TypeVar

from aap_contract.envelope import Event
from aap_contract.events import EventData

S = TypeVar("S")
AT = datetime(2021, 5, 1, tzinfo=UTC)


def envelope(data: EventData, n: int = 1, event_id: str | None = None, at: datetime = AT) -> Event:
    """`data` as the n-th event of its aggregate."""
    return Event(
        event_id=event_id or f"e{n}",
        type=type(data).__name__,
        version=type(data).version,
        aggregate_type=type(data).aggregate,
        aggregate_id="x",
        sequence=n,
        occurred_at=at,
        actor="test",
        correlation_id=f"e{n}",
        causation_id=None,
        prev_hash="0" * 64,
        data=data,
    )


def fold(evolve: Callable[[S, Event], S], state: S, datas: Iterable[Any]) -> S:
    """The state after the given facts (bare payloads or envelopes), as a handler folds it."""
    events = [d if isinstance(d, Event) else envelope(d, n) for n, d in enumerate(datas, 1)]
    return reduce(evolve, events, state)
