"""The dossier lifecycle as every view reports it (SPEC §9): one status per dossier.

A pure, keyed view: `evolve_entry(entry, event)` returns the dossier's new entry; the
`DossierIndex` keeps them by id. Intake, committee and the reports share it, so a status
means the same thing everywhere.
"""
from __future__ import annotations

from datetime import datetime

import msgspec

from shared.codec import Event
from shared.dossier import Dossier
from shared.events import (
    CreditsCommitted, CreditsReserved, DocumentUploaded, DossierAmended, DossierSubmitted,
    DossierWithdrawn, EligibilityAssessed, ProjectDeferred, ProjectRejected, ProjectSelected,
    ReservationRefused, ReservationsLapsed, RuleFailure,
)

FINAL = {"withdrawn"}


class DossierEntry(msgspec.Struct, frozen=True, gc=False):
    dossier_id: str
    dossier: Dossier
    session: int                      # the relevé that collected it
    agenda_session: int               # the session whose agenda it is on (after deferrals)
    status: str
    submitted_at: datetime
    updated_at: datetime
    content_event_id: str             # the submission or amendment last assessed against
    eligible: bool | None = None
    failures: tuple[RuleFailure, ...] = ()
    decision_session: int | None = None
    granted_cents: int | None = None
    committed_cents: int | None = None
    legal_reference: str | None = None
    motivation: str | None = None
    document_sha256: str | None = None

    @property
    def reasons(self) -> list[str]:
        return sorted(f.code for f in self.failures)

    @property
    def departement(self) -> str:
        lead = next((a for a in self.dossier.applicants if a.operational_contact), self.dossier.applicants[0])
        return lead.departement


def evolve_entry(entry: DossierEntry | None, event: Event) -> DossierEntry | None:
    d = event.data
    if isinstance(d, DossierSubmitted):
        return DossierEntry(d.dossier_id, d.dossier, d.session, d.session, "submitted",
                            event.occurred_at, event.occurred_at, event.event_id)
    if entry is None:
        return None
    at = {"updated_at": event.occurred_at}
    if isinstance(d, DossierAmended):
        return msgspec.structs.replace(entry, dossier=d.dossier, session=d.session, agenda_session=d.session,
                                       status="submitted", eligible=None, failures=(),
                                       content_event_id=event.event_id, **at)
    if isinstance(d, DossierWithdrawn):
        return msgspec.structs.replace(entry, status="withdrawn", **at)
    if isinstance(d, DocumentUploaded):
        return msgspec.structs.replace(entry, document_sha256=d.sha256, **at)
    if isinstance(d, EligibilityAssessed):
        if d.dossier_event_id != entry.content_event_id:
            return entry                                   # an assessment of a replaced version
        status = entry.status if entry.status in FINAL else ("eligible" if d.eligible else "ineligible")
        return msgspec.structs.replace(entry, eligible=d.eligible, failures=tuple(d.failures), status=status, **at)
    if isinstance(d, ProjectSelected):
        return msgspec.structs.replace(entry, status="selected", granted_cents=d.granted_cents,
                                       decision_session=d.session, **at)
    if isinstance(d, ReservationRefused):
        return msgspec.structs.replace(entry, status="selection_unfunded", granted_cents=None, **at)
    if isinstance(d, CreditsReserved):
        return msgspec.structs.replace(entry, status="selected", granted_cents=d.amount_cents, **at)
    if isinstance(d, ProjectRejected):
        return msgspec.structs.replace(entry, status="rejected", motivation=d.motivation,
                                       decision_session=d.session, **at)
    if isinstance(d, ProjectDeferred):
        return msgspec.structs.replace(entry, status="deferred", agenda_session=d.to_session, **at)
    if isinstance(d, CreditsCommitted):
        return msgspec.structs.replace(entry, status="committed", committed_cents=d.amount_cents,
                                       legal_reference=d.legal_reference, **at)
    return entry


def dossier_ids(event: Event) -> list[str]:
    """The dossiers an event concerns."""
    d = event.data
    if isinstance(d, ReservationsLapsed):
        return [lapse.dossier_id for lapse in d.lapses]
    single = getattr(d, "dossier_id", None)
    return [single] if single else []


class DossierIndex:
    """The keyed view's state: entries by dossier id, evolved one event at a time."""

    def __init__(self) -> None:
        self.entries: dict[str, DossierEntry] = {}

    def evolve(self, event: Event) -> "DossierIndex":
        d = event.data
        if type(d).__name__ not in INDEX_TYPES:
            return self                      # e.g. reviews, closings, notifications: no status change
        for dossier_id in dossier_ids(event):
            old = self.entries.get(dossier_id)
            if isinstance(d, ReservationsLapsed):
                new = msgspec.structs.replace(old, status="lapsed", updated_at=event.occurred_at) if old else None
            else:
                new = evolve_entry(old, event)
            if new is not None:
                self.entries[dossier_id] = new
        return self


# The event types `DossierIndex.evolve` acts on (a view's `Projection(types=...)` starts here).
INDEX_TYPES = frozenset(t.__name__ for t in (
    DossierSubmitted, DossierAmended, DossierWithdrawn, DocumentUploaded, EligibilityAssessed, ProjectSelected,
    ReservationRefused, CreditsReserved, ProjectRejected, ProjectDeferred, CreditsCommitted, ReservationsLapsed))


def initial_index() -> DossierIndex:
    return DossierIndex()


def evolve_index(index: DossierIndex, event: Event) -> DossierIndex:
    return index.evolve(event)
