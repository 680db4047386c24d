"""The envelope every recorded fact travels in: who, when, which aggregate, in which order,
linked to its predecessor by hash. Encoding and decoding are the platform's (`aap_platform.codec`)."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import msgspec

D = TypeVar("D")  # an EventData, or msgspec.Raw before upcasting


class Event(msgspec.Struct, Generic[D], frozen=True):
    """`Event[T]` only serves decoding (one pass, straight into this class); code names `Event`."""

    event_id: str
    type: str
    version: int
    aggregate_type: str
    aggregate_id: str
    sequence: int
    occurred_at: datetime
    actor: str
    correlation_id: str
    causation_id: str | None
    prev_hash: str
    data: D
