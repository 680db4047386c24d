"""The envelope every event travels in, and its JSON codec with upcasting of old versions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import msgspec

from aap_contract.envelope import Event
from aap_contract.events import BY_NAME, UPCASTERS, EventData

_encoder = msgspec.json.Encoder()
_raw_decoder = msgspec.json.Decoder(Event[msgspec.Raw])  # envelope now, payload after upcasting
_data_decoders = {name: msgspec.json.Decoder(t) for name, t in BY_NAME.items()}
# One-pass decoders of each event type's envelope (its current version), into `Event` itself,
# keyed by the type's name as encoded, with the name and version the decoded event must show.
_typed_by_name = {name: (msgspec.json.Decoder(Event[t]), name, t.version) for name, t in BY_NAME.items()}  # type: ignore[valid-type]
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
    except msgspec.ValidationError:  # an older version, or another shape: the general path
        return None
    return e if e.version == version and e.type == name else None


def _type_in(payload: bytes) -> str | None:
    """The envelope's type, found after `event_id` as `encode` writes it (None if not there)."""
    start = payload.find(_TYPE_MARK)
    if start < 0:
        return None
    start += _MARK_LEN
    return payload[start : payload.find(b'"', start)].decode()


def decoder_with(overrides: dict[str, type]) -> Callable[..., Event]:
    """A `decode` that reads the named event types into other classes: a view that needs a few
    fields of a big payload names a class holding only those (msgspec skips the rest unbuilt).
    The override must read the type's current version with the same field names; an older
    version goes through the general path into the full type, which reads the same."""
    typed = {
        **_typed_by_name,
        **{name: (msgspec.json.Decoder(Event[cls]), name, BY_NAME[name].version) for name, cls in overrides.items()},  # type: ignore[valid-type]
    }

    def decode_with(payload: bytes, type_name: str | None = None) -> Event:
        """`type_name`: the type the message's `Aap-Type` header names, when the caller has it
        (the decoder is then found without searching the payload; the decoded type is checked)."""
        # The common case in one pass: a known type at its current version.
        name = type_name if type_name is not None else _type_in(payload)
        known = typed.get(name) if name is not None else None
        fast = _typed(payload, known) if known is not None else None
        if fast is not None:
            return fast
        raw = _raw_decoder.decode(payload)
        if raw.type not in BY_NAME:
            raise UnknownEvent(raw.type)
        data = _upcast(raw.type, raw.version, raw.data)
        return msgspec.structs.replace(raw, version=type(data).version, data=data)

    return decode_with


decode = decoder_with({})
