"""The envelope every event travels in, and its JSON codec with upcasting of old versions."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

import msgspec

from shared.events import BY_NAME, EventData


D = TypeVar("D")   # an EventData, or msgspec.Raw before upcasting


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


Upcaster = Callable[[dict], dict]
# (type, version) -> function turning a payload of that version into the next version.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("DossierWithdrawn", 1): lambda d: {**d, "reason": ""},
}

_encoder = msgspec.json.Encoder()
_raw_decoder = msgspec.json.Decoder(Event[msgspec.Raw])   # envelope now, payload after upcasting
_data_decoders = {name: msgspec.json.Decoder(t) for name, t in BY_NAME.items()}
# One-pass decoders of each event type's envelope (its current version), into `Event` itself,
# keyed by the type's name as encoded, with the name and version the decoded event must show.
_typed_decoders = {name.encode(): (msgspec.json.Decoder(Event[t]), name, t.version) for name, t in BY_NAME.items()}
_typed_by_name = {name: known for name, known in ((k.decode(), v) for k, v in _typed_decoders.items())}
_TYPE_MARK = b',"type":"'
_MARK_LEN = len(_TYPE_MARK)


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


def _typed(payload: bytes, known: tuple) -> Event | None:
    decoder, name, version = known
    try:
        e = decoder.decode(payload)
    except msgspec.ValidationError:   # an older version, or another shape: the general path
        return None
    return e if e.version == version and e.type == name else None


def _fast_decode(payload: bytes) -> Event | None:
    """The common case in one pass: the envelope's type, found after `event_id` as encoded by
    `encode`, names a known type at its current version. None when it does not apply."""
    start = payload.find(_TYPE_MARK)
    if start < 0:
        return None
    start += _MARK_LEN
    known = _typed_decoders.get(payload[start:payload.find(b'"', start)])
    return None if known is None else _typed(payload, known)


def decode(payload: bytes, type_name: str | None = None) -> Event:
    """`type_name`: the type the message's `Aap-Type` header names, when the caller has it (the
    decoder is then found without searching the payload; the decoded type is still checked)."""
    known = _typed_by_name.get(type_name) if type_name is not None else None
    fast = _typed(payload, known) if known is not None else _fast_decode(payload)
    if fast is not None:
        return fast
    raw = _raw_decoder.decode(payload)
    if raw.type not in BY_NAME:
        raise UnknownEvent(raw.type)
    data = _upcast(raw.type, raw.version, raw.data)
    return msgspec.structs.replace(raw, version=type(data).version, data=data)
