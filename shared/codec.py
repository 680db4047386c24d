"""The envelope every event travels in, and its JSON codec with upcasting of old versions."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import msgspec

from shared.events import BY_NAME, EventData


class Event(msgspec.Struct, frozen=True):
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
    data: EventData


class _RawEvent(msgspec.Struct, frozen=True):
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
    data: msgspec.Raw


Upcaster = Callable[[dict], dict]
# (type, version) -> function turning a payload of that version into the next version.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("DossierWithdrawn", 1): lambda d: {**d, "reason": ""},
}

_encoder = msgspec.json.Encoder()
_raw_decoder = msgspec.json.Decoder(_RawEvent)
_data_decoders = {name: msgspec.json.Decoder(t) for name, t in BY_NAME.items()}
_ENVELOPE = [(f.name, f.type) for f in msgspec.structs.fields(_RawEvent) if f.name != "data"]


def _typed_envelope(name: str, data_type: type) -> msgspec.json.Decoder:
    """A one-pass decoder of the envelope of one event type (its current version)."""
    return msgspec.json.Decoder(msgspec.defstruct(f"_{name}Envelope", [*_ENVELOPE, ("data", data_type)],
                                                  frozen=True))


_typed_decoders = {name: _typed_envelope(name, t) for name, t in BY_NAME.items()}
_TYPE_MARK = b',"type":"'


class UnknownEvent(Exception):
    pass


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


def content_hash(payload: bytes, prev_hash: str) -> str:
    """The chain link: a hash of an event's bytes and of its predecessor's link."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + payload).hexdigest()


def _upcast(type_name: str, version: int, raw: bytes) -> EventData:
    target = BY_NAME[type_name]
    if version == target.version:
        return _data_decoders[type_name].decode(raw)
    payload = msgspec.json.decode(raw)
    while version < target.version:
        payload = UPCASTERS[(type_name, version)](payload)
        version += 1
    return msgspec.convert(payload, target)


def _fast_decode(payload: bytes) -> Event | None:
    """The common case in one pass: the envelope's type, found after `event_id` as encoded by
    `encode`, names a known type at its current version. None when it does not apply."""
    start = payload.find(_TYPE_MARK)
    if start < 0:
        return None
    start += len(_TYPE_MARK)
    decoder = _typed_decoders.get(payload[start:payload.find(b'"', start)].decode("utf-8", "replace"))
    if decoder is None:
        return None
    try:
        e = decoder.decode(payload)
    except msgspec.ValidationError:   # an older version, or another shape: the general path
        return None
    if e.version != type(e.data).version or e.type != type(e.data).__name__:
        return None
    return Event(e.event_id, e.type, e.version, e.aggregate_type, e.aggregate_id, e.sequence,
                 e.occurred_at, e.actor, e.correlation_id, e.causation_id, e.prev_hash, e.data)


def decode(payload: bytes) -> Event:
    fast = _fast_decode(payload)
    if fast is not None:
        return fast
    raw = _raw_decoder.decode(payload)
    if raw.type not in BY_NAME:
        raise UnknownEvent(raw.type)
    data = _upcast(raw.type, raw.version, raw.data)
    fields = {f: getattr(raw, f) for f in raw.__struct_fields__ if f not in ("data", "version")}
    return Event(version=type(data).version, data=data, **fields)
