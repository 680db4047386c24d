"""Unique, time-ordered identifiers (UUIDv7 layout: 48-bit milliseconds, then randomness)."""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> str:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | rand & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def stable_id(*parts: str) -> str:
    """A deterministic id for a fact derived from other facts: the same inputs give the same
    id, so a reaction retried after a crash is deduplicated by JetStream (Nats-Msg-Id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "aap:" + "/".join(parts)))
