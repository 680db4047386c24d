"""The connector's `dndossier` aggregate: what it did with one Démarche Numérique dossier (id = the
AAP dossier id fixed by the DN number). Pure: decide and evolve, no I/O.

One command records one fact; a command that would repeat a fact already recorded decides nothing,
so a redelivered event or a restarted sync appends nothing twice, and a write-back recorded as done
is never asked of DN again.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

import msgspec

from aap_contract.envelope import Event
from aap_contract.events import (
    DnDossierDeleted,
    DnDossierImported,
    DnImportFailed,
    DnWriteBackDone,
    EventData,
)
from aap_contract.refusal import Refusal

AGGREGATE = "dndossier"


class RecordImport(msgspec.Struct, frozen=True):
    dossier_id: str
    demarche: int
    number: int
    dn_id: str
    action: Literal["submitted", "amended", "unchanged"]
    fingerprint: str
    modified_at: datetime
    document_checksum: str | None = None


class RecordFailure(msgspec.Struct, frozen=True):
    dossier_id: str
    demarche: int
    number: int
    kind: Literal["unmappable", "refused", "document"]
    problems: list[str]
    fingerprint: str
    modified_at: datetime


class RecordDeletion(msgspec.Struct, frozen=True):
    dossier_id: str
    demarche: int
    number: int
    reason: str
    deleted_at: datetime


class RecordWriteBack(msgspec.Struct, frozen=True):
    dossier_id: str
    mutation: str
    key: str


Command = RecordImport | RecordFailure | RecordDeletion | RecordWriteBack


class DnState(msgspec.Struct):
    number: int | None = None
    demarche: int | None = None
    dn_id: str | None = None
    imported: str | None = None  # fingerprint of the content last imported
    document_checksum: str | None = None
    failed: str | None = None  # fingerprint of the content last failed
    failure: DnImportFailed | None = None
    deleted: bool = False
    written: set[str] = msgspec.field(default_factory=set)

    @property
    def known(self) -> bool:
        return self.imported is not None

    @property
    def in_aap(self) -> bool:
        """Intake holds the dossier (its document alone may have failed)."""
        return self.known or (self.failure is not None and self.failure.kind == "document")

    @property
    def dn_dossier_id(self) -> str | None:
        """DN's id of the dossier (base64 of `Dossier-<number>`), which its mutations take."""
        if self.dn_id:
            return self.dn_id
        return base64.b64encode(f"Dossier-{self.number}".encode()).decode() if self.number else None


def initial_state() -> DnState:
    return DnState()


def evolve(state: DnState, event: Event[EventData]) -> DnState:
    d = event.data
    if isinstance(d, DnDossierImported):
        state.number, state.imported, state.failed, state.failure = d.number, d.fingerprint, None, None
        state.demarche, state.dn_id = d.demarche, d.dn_id
        state.document_checksum = d.document_checksum or state.document_checksum
    elif isinstance(d, DnImportFailed):
        state.number, state.demarche, state.failed, state.failure = d.number, d.demarche, d.fingerprint, d
    elif isinstance(d, DnDossierDeleted):
        state.number, state.deleted = d.number, True
    elif isinstance(d, DnWriteBackDone):
        state.written.add(d.key)
    return state


def needs_import(state: DnState, fingerprint: str) -> bool:
    """A DN dossier is imported again only when its content changed since the last import or
    failure (a failed document is tried again on every pass: its URL may only have expired)."""
    if state.deleted or state.imported == fingerprint:
        return False
    return not (state.failed == fingerprint and state.failure is not None and state.failure.kind != "document")


def decide(command: Command, state: DnState, context: object = None) -> EventData | None:
    if isinstance(command, RecordImport):
        if state.imported == command.fingerprint and state.document_checksum == command.document_checksum:
            return None
        return DnDossierImported(
            dossier_id=command.dossier_id,
            demarche=command.demarche,
            number=command.number,
            dn_id=command.dn_id,
            action=command.action,
            fingerprint=command.fingerprint,
            modified_at=command.modified_at,
            document_checksum=command.document_checksum,
        )
    if isinstance(command, RecordFailure):
        last = state.failure
        if (
            last is not None
            and state.failed == command.fingerprint
            and last.kind == command.kind
            and last.problems == command.problems
        ):
            return None
        return DnImportFailed(
            dossier_id=command.dossier_id,
            demarche=command.demarche,
            number=command.number,
            kind=command.kind,
            problems=command.problems,
            fingerprint=command.fingerprint,
            modified_at=command.modified_at,
        )
    if isinstance(command, RecordDeletion):
        if state.deleted:
            return None
        return DnDossierDeleted(
            dossier_id=command.dossier_id,
            demarche=command.demarche,
            number=command.number,
            reason=command.reason,
            deleted_at=command.deleted_at,
        )
    if state.number is None or not state.in_aap:
        raise Refusal("UNKNOWN_DOSSIER", f"Le dossier {command.dossier_id} n'a pas été importé de Démarche Numérique.")
    if command.key in state.written:
        return None
    return DnWriteBackDone(
        dossier_id=command.dossier_id, number=state.number, mutation=command.mutation, key=command.key
    )
