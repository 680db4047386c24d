"""Intake's decider for the `dossier` aggregate (SPEC §4): pure rules, no I/O.

Given the aggregate's past events (folded with `evolve` from `initial_state()`), a command and
its `Context` (the instant and the call configuration), `decide` returns the one event to
record, None when there is nothing to do (a retried submission), or raises a `Refusal`. Refusal precedence (FORMAT.md):
UNKNOWN_DOSSIER, then WINDOW, then LOCKED; VALIDATION is judged before, at the HTTP edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from aap_contract.config import CallConfig
from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import (
    DocumentUploaded,
    DossierAmended,
    DossierSubmitted,
    DossierWithdrawn,
    EventData,
)
from aap_contract.refusal import Refusal

# None: the caller is not bound to structures (instructor, admin); else an applicant's SIRENs.
ActingFor = tuple[str, ...] | None


class SubmitDossier(msgspec.Struct, frozen=True):
    dossier_id: str
    dossier: Dossier


class AmendDossier(msgspec.Struct, frozen=True):
    dossier_id: str
    dossier: Dossier
    acting_for: ActingFor = None


class WithdrawDossier(msgspec.Struct, frozen=True):
    dossier_id: str
    reason: str = ""
    acting_for: ActingFor = None


class AttachDocument(msgspec.Struct, frozen=True):
    dossier_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    object_name: str
    acting_for: ActingFor = None


class ImportDossier(msgspec.Struct, frozen=True):
    """A dossier from another platform (the connector, for Démarche Numérique): submitted if new,
    amended if changed, nothing if its content is the same; decided at the platform's instant."""

    dossier_id: str
    dossier: Dossier


Command = SubmitDossier | AmendDossier | WithdrawDossier | AttachDocument | ImportDossier
MAX_DOCUMENT_VERSIONS = 5  # the upload quota of a dossier (each version is kept: the log names it)


class DossierState(msgspec.Struct, frozen=True):
    submission: DossierSubmitted | None = None  # the first fact: answers a retried submission
    dossier: Dossier | None = None
    session: int | None = None  # the relevé of the last submission or amendment
    withdrawn: bool = False
    documents: int = 0  # versions of the descriptive document recorded (the last is current)
    document_sha256: str | None = None

    @property
    def exists(self) -> bool:
        return self.submission is not None


@dataclass(frozen=True)
class Context:
    now: datetime
    call: CallConfig


def initial_state() -> DossierState:
    return DossierState()


def evolve(state: DossierState, event: Event[Any]) -> DossierState:
    data = event.data
    if isinstance(data, DossierSubmitted):
        return DossierState(submission=data, dossier=data.dossier, session=data.session)
    if isinstance(data, DossierAmended):
        return msgspec.structs.replace(state, dossier=data.dossier, session=data.session)
    if isinstance(data, DossierWithdrawn):
        return msgspec.structs.replace(state, withdrawn=True)
    if isinstance(data, DocumentUploaded):
        return msgspec.structs.replace(state, documents=state.documents + 1, document_sha256=data.sha256)
    return state


def decide(command: Command, state: DossierState, context: Context) -> EventData | None:
    call, now = context.call, _second(context.now)
    if isinstance(command, ImportDossier):
        if state.exists and state.dossier == command.dossier:
            return None  # imported again, unchanged: nothing to record
        command = (
            AmendDossier(command.dossier_id, command.dossier)
            if state.exists
            else SubmitDossier(command.dossier_id, command.dossier)
        )
    if isinstance(command, SubmitDossier):
        if state.exists:
            return None  # the same submission, retried: already recorded
        _check_window(call, now, "Dépôt")
        return DossierSubmitted(dossier_id=command.dossier_id, dossier=command.dossier, session=_session_at(call, now))
    _check_visible(state, command.acting_for, command.dossier_id)
    if isinstance(command, AmendDossier):
        _check_window(call, now, "Modification")
        _check_open(call, state, now)
        return DossierAmended(dossier_id=command.dossier_id, dossier=command.dossier, session=_session_at(call, now))
    _check_open(call, state, now)
    if isinstance(command, WithdrawDossier):
        return DossierWithdrawn(dossier_id=command.dossier_id, reason=command.reason)
    if command.sha256 == state.document_sha256:
        return None  # the current document, sent again: nothing new
    if state.documents >= MAX_DOCUMENT_VERSIONS:
        raise Refusal(
            "QUOTA",
            f"Ce dossier a déjà reçu {state.documents} versions de son document descriptif : "
            f"au plus {MAX_DOCUMENT_VERSIONS}.",
        )
    return DocumentUploaded(
        dossier_id=command.dossier_id,
        filename=command.filename,
        content_type=command.content_type,
        size=command.size,
        sha256=command.sha256,
        object_name=command.object_name,
    )


def _second(now: datetime) -> datetime:
    """The call's dates are given to the second and are inclusive: 23:59:59.7 is still 23:59:59."""
    return now.replace(microsecond=0)


def _local(call: CallConfig, instant: datetime) -> str:
    return instant.astimezone(call.tz).strftime("%d/%m/%Y à %H:%M:%S")


def _check_window(call: CallConfig, now: datetime, what: str) -> None:
    if not call.in_window(now):
        raise Refusal(
            "WINDOW",
            f"{what} impossible hors de la période de dépôt de l'appel à projets "
            f"(du {_local(call, call.window.opens)} au {_local(call, call.window.closes)}).",
        )


def _session_at(call: CallConfig, now: datetime) -> int:
    """The session of a submission or amendment at `now` (inside the window)."""
    session = call.session_for(now)
    if session is None:  # only past the last relevé, which the call's loader puts at or after the window's close
        raise Refusal("WINDOW", f"Aucune session ne suit le {_local(call, now)}.")
    return session


def _check_visible(state: DossierState, acting_for: ActingFor, dossier_id: str) -> None:
    # An applicant never learns that another structure's dossier exists: same answer as unknown.
    if state.dossier is None or (acting_for is not None and not set(acting_for) & set(state.dossier.sirens)):
        raise Refusal("UNKNOWN_DOSSIER", f"Dossier inconnu : {dossier_id}.")


def _check_open(call: CallConfig, state: DossierState, now: datetime) -> None:
    if state.withdrawn:
        raise Refusal("LOCKED", "Ce dossier a été retiré : il ne peut plus être modifié.")
    session = call.session(state.session) if state.session is not None else None
    if session is None or now > session.cutoff:
        cutoff = f" ({_local(call, session.cutoff)})" if session else ""
        raise Refusal(
            "LOCKED",
            f"Le relevé de la session {state.session}{cutoff} est passé : le dossier est "
            "en cours d'instruction et ne peut plus être modifié ni retiré.",
        )
