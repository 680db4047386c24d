"""The connector's read model: each DN dossier's last outcome (imported, failed with its reasons,
deleted) and the write-backs done. Pure."""

from __future__ import annotations

from datetime import datetime

import msgspec

from aap_contract.config import CallConfig
from aap_contract.envelope import Event
from aap_contract.events import DnDossierDeleted, DnDossierImported, DnImportFailed, DnWriteBackDone
from aap_platform.projection import Projection

TYPES = frozenset(t.__name__ for t in (DnDossierImported, DnImportFailed, DnDossierDeleted, DnWriteBackDone))


class Entry(msgspec.Struct):
    dossier_id: str
    number: int
    demarche: int
    status: str = "imported"  # imported | failed | deleted
    kind: str | None = None  # of the failure: unmappable | refused | document
    problems: list[str] = msgspec.field(default_factory=list)
    modified_at: datetime | None = None
    write_backs: list[str] = msgspec.field(default_factory=list)


class ConnectorView:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.write_backs = 0

    def evolve(self, event: Event) -> ConnectorView:
        d = event.data
        if isinstance(d, DnWriteBackDone):
            self.write_backs += 1
            entry = self.entries.get(d.dossier_id)
            if entry is not None:
                entry.write_backs.append(d.mutation)
            return self
        if not isinstance(d, (DnDossierImported, DnImportFailed, DnDossierDeleted)):
            return self
        entry = self.entries.get(d.dossier_id) or Entry(d.dossier_id, d.number, d.demarche)
        self.entries[d.dossier_id] = entry
        if isinstance(d, DnDossierImported):
            entry.status, entry.kind, entry.problems, entry.modified_at = "imported", None, [], d.modified_at
        elif isinstance(d, DnImportFailed):
            entry.status, entry.kind, entry.problems, entry.modified_at = (
                "failed",
                d.kind,
                list(d.problems),
                d.modified_at,
            )
        else:
            entry.status = "deleted"
        return self

    def failures(self) -> list[Entry]:
        return sorted((e for e in self.entries.values() if e.status == "failed"), key=lambda e: e.number)

    def counts(self) -> dict[str, int]:
        out = {"imported": 0, "failed": 0, "deleted": 0}
        for e in self.entries.values():
            out[e.status] += 1
        return {**out, "write_backs": self.write_backs}


def initial_view() -> ConnectorView:
    return ConnectorView()


def evolve_view(view: ConnectorView, event: Event) -> ConnectorView:
    return view.evolve(event)


def projection(call: CallConfig) -> Projection[ConnectorView]:
    """The view as the service runs it: fed by the call's stream, only the connector's own facts."""
    return Projection("connector-imports", initial_view, evolve_view, types=TYPES)
