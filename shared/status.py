"""The dossier lifecycle as every view reports it (SPEC §9): one status per dossier.

A pure, keyed view: `evolve_entry(entry, event)` returns the dossier's new entry; the
`DossierIndex` keeps them by id. Intake, committee and the reports share it, so a status
means the same thing everywhere.
"""
from __future__ import annotations

from sys import intern
from collections.abc import Callable
from datetime import datetime

import msgspec

from shared.codec import Event
from shared.digest import AmendedDigest, SubmittedDigest
from shared.dossier import Dossier
from shared.events import (
    CreditsCommitted, CreditsReserved, DocumentUploaded, DossierAmended, DossierSubmitted,
    DossierWithdrawn, EligibilityAssessed, ProjectDeferred, ProjectRejected, ProjectSelected,
    ReservationRefused, ReservationsLapsed, RuleFailure,
)

FINAL = {"withdrawn"}


class ApplicantSummary(msgspec.Struct, frozen=True, gc=False):
    """What the notifier's e-mails and open-data list need of one applicant."""
    name: str
    siren: str
    siret: str | None
    contact_email: str
    operational_contact: bool


class DossierSummary(msgspec.Struct, frozen=True, gc=False):
    """What a view reports of a dossier's content, without the content itself (a few hundred
    bytes instead of the dossier's ~2 KB). Either `sirens`, or `applicants` (each with its
    SIREN) when the view asks for them: read both through `DossierEntry`."""
    title: str
    theme: str
    departement: str                  # the operational contact's (else the first applicant's)
    global_cost_cents: int
    requested_cents: int
    sirens: tuple[str, ...] = ()
    applicants: tuple[ApplicantSummary, ...] = ()


def _lead(dossier: Dossier):
    for a in dossier.applicants:
        if a.operational_contact:
            return a
    return dossier.applicants[0]


def _applicants(dossier: Dossier) -> tuple[ApplicantSummary, ...]:
    return tuple([ApplicantSummary(a.name, intern(a.siren), a.siret, a.contact.email, a.operational_contact)
                  for a in dossier.applicants])


# Few distinct themes, départements and SIRENs: interned, one string object each for all dossiers.

def summary(dossier: Dossier) -> DossierSummary:
    """The slim summary: title, theme, département, amounts, SIRENs."""
    f = dossier.financing
    return DossierSummary(dossier.title, intern(dossier.theme), intern(_lead(dossier).departement),
                          f.global_cost_cents, f.requested_cents, tuple([intern(a.siren) for a in dossier.applicants]))


def summary_with_applicants(dossier: Dossier) -> DossierSummary:
    """The summary with each applicant's name, SIREN/SIRET, contact e-mail and role (the notifier's need)."""
    f = dossier.financing
    return DossierSummary(dossier.title, intern(dossier.theme), intern(_lead(dossier).departement),
                          f.global_cost_cents, f.requested_cents, applicants=_applicants(dossier))


Content = Dossier | DossierSummary
Summarize = Callable[[Dossier], Content]


class DossierEntry(msgspec.Struct, frozen=True, gc=False):
    dossier_id: str
    dossier: Content                  # the whole dossier, or its summary (see `DossierIndex`)
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

    # The content as every view reads it, whether the entry keeps the dossier or its summary.
    @property
    def title(self) -> str:
        return self.dossier.title

    @property
    def theme(self) -> str:
        return self.dossier.theme

    @property
    def departement(self) -> str:
        c = self.dossier
        return c.departement if isinstance(c, DossierSummary) else _lead(c).departement

    @property
    def global_cost_cents(self) -> int:
        c = self.dossier
        return c.global_cost_cents if isinstance(c, DossierSummary) else c.financing.global_cost_cents

    @property
    def requested_cents(self) -> int:
        c = self.dossier
        return c.requested_cents if isinstance(c, DossierSummary) else c.financing.requested_cents

    @property
    def sirens(self) -> list[str]:
        c = self.dossier
        if isinstance(c, DossierSummary) and c.applicants:
            return [a.siren for a in c.applicants]
        return list(c.sirens)

    @property
    def applicants(self) -> tuple[ApplicantSummary, ...]:
        """Empty if the entry keeps a summary without applicants."""
        c = self.dossier
        return c.applicants if isinstance(c, DossierSummary) else _applicants(c)


def _keep(dossier: Dossier) -> Content:
    return dossier


_replace = msgspec.structs.replace


def _submitted(entry, d, event, summarize):
    return DossierEntry(d.dossier_id, summarize(d.dossier), d.session, d.session, "submitted",
                        event.occurred_at, event.occurred_at, event.event_id)


def _amended(entry, d, event, summarize):
    return _replace(entry, dossier=summarize(d.dossier), session=d.session, agenda_session=d.session,
                    status="submitted", eligible=None, failures=(), content_event_id=event.event_id,
                    updated_at=event.occurred_at)


def _assessed(entry, d, event, summarize):
    if d.dossier_event_id != entry.content_event_id:
        return entry                                   # an assessment of a replaced version
    status = entry.status if entry.status in FINAL else ("eligible" if d.eligible else "ineligible")
    return _replace(entry, eligible=d.eligible, failures=tuple(d.failures), status=status,
                    updated_at=event.occurred_at)


def _document(entry, d, event, summarize):
    # The document's hash is content: an entry that keeps a summary instead of the dossier omits it.
    sha256 = None if isinstance(entry.dossier, DossierSummary) else d.sha256
    return _replace(entry, document_sha256=sha256, updated_at=event.occurred_at)


# What each event type does to the dossier's entry (a type absent from here leaves it as is).
_ON: dict[type, Callable] = {
    DossierSubmitted: _submitted,
    DossierAmended: _amended,
    SubmittedDigest: _submitted,          # the same events, as the summary views decode them
    AmendedDigest: _amended,
    EligibilityAssessed: _assessed,
    DossierWithdrawn: lambda e, d, ev, _: _replace(e, status="withdrawn", updated_at=ev.occurred_at),
    DocumentUploaded: _document,
    ProjectSelected: lambda e, d, ev, _: _replace(e, status="selected", granted_cents=d.granted_cents,
                                                  decision_session=d.session, updated_at=ev.occurred_at),
    ReservationRefused: lambda e, d, ev, _: _replace(e, status="selection_unfunded", granted_cents=None,
                                                     updated_at=ev.occurred_at),
    CreditsReserved: lambda e, d, ev, _: _replace(e, status="selected", granted_cents=d.amount_cents,
                                                  updated_at=ev.occurred_at),
    ProjectRejected: lambda e, d, ev, _: _replace(e, status="rejected", motivation=d.motivation,
                                                  decision_session=d.session, updated_at=ev.occurred_at),
    ProjectDeferred: lambda e, d, ev, _: _replace(e, status="deferred", agenda_session=d.to_session,
                                                  updated_at=ev.occurred_at),
    CreditsCommitted: lambda e, d, ev, _: _replace(e, status="committed", committed_cents=d.amount_cents,
                                                   legal_reference=d.legal_reference, updated_at=ev.occurred_at),
}


def _lapsed(entry: DossierEntry, event: Event) -> DossierEntry:
    return _replace(entry, status="lapsed", updated_at=event.occurred_at)


def evolve_entry(entry: DossierEntry | None, event: Event, summarize: Summarize = _keep) -> DossierEntry | None:
    """`summarize` maps a submitted or amended dossier to what the entry keeps of it (the
    dossier itself by default); it does not change the lifecycle. A lapse concerns several
    dossiers: `DossierIndex.evolve` applies it to each."""
    d = event.data
    on = _ON.get(type(d))
    if on is None or (entry is None and on is not _submitted):
        return entry
    return on(entry, d, event, summarize)


def dossier_ids(event: Event) -> list[str]:
    """The dossiers an event concerns."""
    d = event.data
    if isinstance(d, ReservationsLapsed):
        return [lapse.dossier_id for lapse in d.lapses]
    single = getattr(d, "dossier_id", None)
    return [single] if single else []


class DossierIndex:
    """The keyed view's state: entries by dossier id, evolved one event at a time.

    `summarize` (a pure function of the dossier) chooses what each entry keeps of the content:
    the whole dossier by default (intake serves it), `summary` or `summary_with_applicants`
    for views that only report on it. The lifecycle is the same whatever it keeps."""

    def __init__(self, summarize: Summarize = _keep) -> None:
        self._summarize = summarize          # private: not part of the audited state
        self.entries: dict[str, DossierEntry] = {}

    def evolve(self, event: Event) -> "DossierIndex":
        d = event.data
        entries = self.entries
        on = _ON.get(type(d))
        if on is not None:              # one dossier (a dispatch on the type: the replay's hot path)
            dossier_id = d.dossier_id
            old = entries.get(dossier_id)
            if old is not None or on is _submitted:
                entries[dossier_id] = on(old, d, event, self._summarize)
        elif isinstance(d, ReservationsLapsed):
            for lapse in d.lapses:
                old = entries.get(lapse.dossier_id)
                if old is not None:
                    entries[lapse.dossier_id] = _lapsed(old, event)
        return self                      # e.g. reviews, closings, notifications: no status change


# The event types `DossierIndex.evolve` acts on (a view's `Projection(types=...)` starts here).
INDEX_TYPES = frozenset([t.__name__ for t in _ON if t not in (SubmittedDigest, AmendedDigest)]
                        + [ReservationsLapsed.__name__])


def initial_index(summarize: Summarize = _keep) -> DossierIndex:
    return DossierIndex(summarize)


def evolve_index(index: DossierIndex, event: Event) -> DossierIndex:
    return index.evolve(event)
