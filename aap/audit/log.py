"""The call's log as an auditor reads it: every stored message, in stream order, from the live
stream or from an exported copy (JSON lines), with its headers."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
from nats.js.errors import NotFoundError

from aap_platform.store import EventStore


class Record(msgspec.Struct, frozen=True):
    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes


class _Line(msgspec.Struct):
    seq: int
    subject: str
    headers: dict[str, str]
    data_b64: str


async def read_stream(store: EventStore, until: int | None = None) -> AsyncIterator[Record]:
    """Every message of the stream, gaps included (a missing sequence is simply absent)."""
    info = await store.js.stream_info(store.stream)
    last = info.state.last_seq if until is None else min(until, info.state.last_seq)
    seq = 1
    while seq <= last:
        try:
            # the next message at or after `seq` on any subject: a shrunk log starts past #1
            msg = await store.js.get_msg(store.stream, seq=seq, subject=store.all_subjects, next=True, direct=True)
        except NotFoundError:
            return
        assert msg.seq is not None and msg.subject is not None and msg.data is not None
        if msg.seq > last:
            return
        yield Record(msg.seq, msg.subject, dict(msg.headers or {}), msg.data)
        seq = msg.seq + 1


def write_lines(records: list[Record], path: Path) -> None:
    with path.open("wb") as out:
        for r in records:
            line = _Line(r.seq, r.subject, r.headers, base64.b64encode(r.data).decode())
            out.write(msgspec.json.encode(line) + b"\n")


def read_lines(path: Path) -> Iterator[Record]:
    decoder = msgspec.json.Decoder(_Line)
    with path.open("rb") as src:
        for raw in src:
            if raw.strip():
                line = decoder.decode(raw)
                yield Record(line.seq, line.subject, line.headers, base64.b64decode(line.data_b64))
