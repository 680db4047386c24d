"""Does a recorded event keep the contract? A signed event can still be wrong (a bug, a stolen
key): each reader checks, before acting on it, that the event sits on its type's aggregate,
that its ids have the format an id reaching a subject must have, and that the sessions it names
are the call's. Cheap checks only: they run on every event a view or reactor applies."""

from __future__ import annotations

import re
from typing import Annotated, Any

from aap_contract.checks import Check
from aap_contract.config import CallConfig
from aap_contract.envelope import Event
from aap_contract.events import BY_NAME

# An id that becomes a subject token: no dot, no wildcard, no space or control character.
ID_PATTERN = r"[A-Za-z0-9_-]{1,100}"
_ID = re.compile(ID_PATTERN)
# The same as a field's check (input bodies): anchored at both ends.
Id = Annotated[str, Check(pattern=r"\A" + ID_PATTERN + r"\Z", description="letters, digits, - and _")]


def valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _sessions(data: Any) -> list[int]:
    return [n for n in (getattr(data, "session", None), getattr(data, "to_session", None)) if n is not None]


def breach(event: Event[Any], call: CallConfig) -> str | None:
    """None when the event keeps the contract; else what it breaks."""
    kind = BY_NAME.get(event.type)
    if kind is None:
        return f"type d'événement inconnu {event.type}"
    if event.aggregate_type != kind.aggregate:
        return f"{event.type} sur l'agrégat {event.aggregate_type!r} au lieu de {kind.aggregate!r}"
    if not valid_id(event.aggregate_id):
        return f"{event.type} : identifiant d'agrégat invalide {event.aggregate_id[:80]!r}"
    data = event.data
    dossier_id = getattr(data, "dossier_id", None)
    if dossier_id is not None and not valid_id(dossier_id):
        return f"{event.type} : identifiant de dossier invalide {str(dossier_id)[:80]!r}"
    numbers = {s.number for s in call.sessions}
    for n in _sessions(data):
        if n not in numbers:
            return f"{event.type} : la session {n} n'existe pas dans l'appel"
    if kind.aggregate == "session" and event.aggregate_id != str(getattr(data, "session", event.aggregate_id)):
        return (
            f"{event.type} de la session {getattr(data, 'session', '?')} enregistré sur la session {event.aggregate_id}"
        )
    if kind.aggregate in ("envelope", "seal") and event.aggregate_id != call.id:
        return f"{event.type} sur l'enveloppe {event.aggregate_id!r}, qui n'est pas celle de l'appel"
    if kind.aggregate in ("dossier", "assessment") and dossier_id is not None and dossier_id != event.aggregate_id:
        return f"{event.type} du dossier {dossier_id} enregistré sur l'agrégat {event.aggregate_id}"
    return None
