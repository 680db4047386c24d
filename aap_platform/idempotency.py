"""Idempotency keys of commands over HTTP (the `Idempotency-Key` header), one rule for every
service: a key is 1 to 200 characters; a command retried with its key is recorded once and
answered as the first time (with `Idempotent-Replayed: true`); the same key with another body
is refused (422 naming the header) and records nothing.

The key names the command's event: its id is derived from (what, actor, key), so the store's
`Nats-Msg-Id` deduplication holds as well as the check on the aggregate's events."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Request
from litestar.exceptions import ValidationException

from aap_contract.envelope import Event
from aap_platform.ids import new_id, stable_id
from aap_platform.store import Loaded

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY = 200
STATE = "idempotency_key"  # where the request's key is kept: a 503 names it


def key(request: Request, *, assign: bool = False) -> tuple[str | None, bool]:
    """The request's key (422 if malformed) and whether the server assigned it: with `assign`,
    a new one when the client sent none. Kept in the request's state so that an answer 503
    tells the client which key to retry with."""
    given = request.headers.get(HEADER.lower())
    if given is not None and not 0 < len(given) <= MAX_KEY:
        raise ValidationException(
            f"en-tête {HEADER} invalide",
            status_code=422,
            extra=[{"field": HEADER, "message": f"1 à {MAX_KEY} caractères"}],
        )
    assigned = given is None and assign
    value = new_id() if assigned else given
    if value is not None:
        request.scope.setdefault("state", {})[STATE] = value
    return value, assigned


def event_id(what: str, actor: str, key: str) -> str:
    """The id of the event a keyed command records: the same (what, actor, key), the same id."""
    return stable_id(what, actor, key)


class KeyReused(ValidationException):
    """The key was used before for another request: 422, nothing recorded."""

    def __init__(self) -> None:
        super().__init__(
            f"en-tête {HEADER} déjà utilisé pour une autre requête",
            status_code=422,
            extra=[
                {
                    "field": HEADER,
                    "message": "cette clé a déjà servi pour une requête différente : "
                    "utilisez une nouvelle clé pour une nouvelle requête",
                }
            ],
        )


def prior(loaded: Loaded, event_id: str | None, same: Callable[[Event], bool]) -> Event | None:
    """The event the key recorded before, if any (None: first time). `same` says whether it
    answers the same request; if not, the key was reused: 422."""
    if event_id is None:
        return None
    for event in reversed(loaded.events):
        if event.event_id == event_id:
            if not same(event):
                raise KeyReused()
            return event
    return None


def replayed_headers(key: str | None, replayed: bool) -> dict[str, str]:
    """The headers of a keyed command's answer: its key, and whether it is a replay."""
    headers = {HEADER: key} if key is not None else {}
    if replayed:
        headers[REPLAYED] = "true"
    return headers
