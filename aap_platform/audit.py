"""Replay for audits: a view rebuilt from the first event, compared with the live one, and
views as they stood at an instant. Pure evolve functions make both a plain re-run."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any

import msgspec
from nats.js import api

from aap_platform.codec import decode
from aap_platform.projection import Projection
from aap_platform.store import EventStore


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    raise TypeError(f"cannot dump {type(obj).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, order="sorted")


def _canonical(state: Any) -> bytes:
    # str_keys: a view may key a dict by session number; the JSON form keys it by "1", "2"…
    return _encoder.encode(msgspec.to_builtins(state, str_keys=True, enc_hook=_enc_hook, order="sorted"))


def dump(state: Any) -> Any:
    """A canonical, JSON-ready form of a view's state."""
    return msgspec.json.decode(_canonical(state))


def digest(state: Any) -> str:
    return hashlib.sha256(_canonical(state)).hexdigest()


async def rebuild(view: Projection, store: EventStore, until: int, as_of: datetime | None = None) -> Any:
    """The view's state rebuilt from the first event up to stream sequence `until`
    (and, with `as_of`, only from events that had happened by then)."""
    state = view.initial()
    if until <= 0:
        return state
    done = asyncio.get_running_loop().create_future()

    async def on_msg(msg) -> None:
        nonlocal state
        seq = msg.metadata.sequence.stream
        if seq > until or done.done():
            return
        try:
            event = decode(msg.data)
        except Exception:  # noqa: BLE001 — refused by the live view as well
            event = None
        refused = event is None or (
            view.guard is not None and view.guard.problem(msg.subject, msg.headers, msg.data, event) is not None
        )
        if event is not None and not refused and (as_of is None or event.occurred_at <= as_of):
            state = view.evolve(state, event)
        if seq >= until and not done.done():
            done.set_result(None)

    sub = await store.js.subscribe(
        store.all_subjects, stream=store.stream, cb=on_msg, ordered_consumer=True, deliver_policy=api.DeliverPolicy.ALL
    )
    try:
        await asyncio.wait_for(done, timeout=600)
    finally:
        await sub.unsubscribe()
    return state


async def compare(
    views: list[Projection], store: EventStore, as_of: datetime | None = None, with_state: bool = False
) -> list[dict]:
    out = []
    for view in views:
        position, live = view.position, digest(view.state)  # taken together, before any await
        rebuilt = await rebuild(view, store, position, as_of)
        row = {
            "view": view.name,
            "position": position,
            "live_digest": live if as_of is None else None,
            "rebuilt_digest": digest(rebuilt),
        }
        if with_state:
            row["state"] = dump(rebuilt)
        out.append(row)
    return out
