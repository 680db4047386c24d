"""The dossier lifecycle as every view reports it (SPEC §9): one status per dossier.

A pure, keyed view: for each event type, `_ON` gives the dossier's new entry from its old one;
the `DossierIndex` keeps them by id. Intake, committee and the reports share it, so a status
means the same thing everywhere. What an entry holds is in `aap_contract.entry`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from aap_contract.entry import DossierEntry, DossierSummary, Summarize, keep
from aap_contract.envelope import Event
from aap_contract.events import (
    ReservationsLapsed,
)

# Every status a dossier can have (SPEC §9), in the order reports list them.
STATUSES: tuple[str, ...] = (
    "submitted",
    "withdrawn",
    "ineligible",
    "eligible",
    "deferred",
    "rejected",
    "selected",
    "selection_unfunded",
    "committed",
    "lapsed",
)
# How a report names the dossiers in each status, in French.
STATUS_LABELS: dict[str, str] = {
    "committed": "retenus, crédits engagés",
    "selected": "retenus, crédits réservés",
    "lapsed": "retenus, crédits annulés (non engagés à l'échéance)",
    "selection_unfunded": "retenus sans financement (enveloppe épuisée)",
    "rejected": "non retenus par le comité",
    "deferred": "ajournés à la session suivante",
    "eligible": "éligibles, en attente du comité",
    "ineligible": "inéligibles",
    "withdrawn": "retirés par leur porteur",
    "submitted": "déposés, en cours d'instruction",
}
# The same, for one dossier (French agreement: "1 retenu", "2 retenus").
STATUS_LABELS_ONE: dict[str, str] = {
    "committed": "retenu, crédits engagés",
    "selected": "retenu, crédits réservés",
    "lapsed": "retenu, crédits annulés (non engagés à l'échéance)",
    "selection_unfunded": "retenu sans financement (enveloppe épuisée)",
    "rejected": "non retenu par le comité",
    "deferred": "ajourné à la session suivante",
    "eligible": "éligible, en attente du comité",
    "ineligible": "inéligible",
    "withdrawn": "retiré par son porteur",
    "submitted": "déposé, en cours d'instruction",
}


def status_label(status: str, n: int) -> str:
    """How a report names `n` dossiers in `status`, with the agreement."""
    labels = STATUS_LABELS_ONE if abs(n) < 2 else STATUS_LABELS
    return labels.get(status, status)


FINAL = {"withdrawn"}


_replace = msgspec.structs.replace
AnyEvent = Event[Any]


def _submitted(entry: DossierEntry | None, d: Any, event: AnyEvent, summarize: Summarize) -> DossierEntry:
    return DossierEntry(
        d.dossier_id,
        summarize(d.dossier),
        d.session,
        d.session,
        "submitted",
        event.occurred_at,
        event.occurred_at,
        event.event_id,
    )


def _amended(entry: DossierEntry, d: Any, event: AnyEvent, summarize: Summarize) -> DossierEntry:
    return _replace(
        entry,
        dossier=summarize(d.dossier),
        session=d.session,
        agenda_session=d.session,
        status="submitted",
        eligible=None,
        failures=(),
        content_event_id=event.event_id,
        updated_at=event.occurred_at,
    )


def _assessed(entry: DossierEntry, d: Any, event: AnyEvent, summarize: Summarize) -> DossierEntry:
    if d.dossier_event_id != entry.content_event_id:
        return entry  # an assessment of a replaced version
    status = entry.status if entry.status in FINAL else ("eligible" if d.eligible else "ineligible")
    return _replace(entry, eligible=d.eligible, failures=tuple(d.failures), status=status, updated_at=event.occurred_at)


def _document(entry: DossierEntry, d: Any, event: AnyEvent, summarize: Summarize) -> DossierEntry:
    # The document's hash is content: an entry that keeps a summary instead of the dossier omits it.
    sha256 = None if isinstance(entry.dossier, DossierSummary) else d.sha256
    return _replace(entry, document_sha256=sha256, updated_at=event.occurred_at)


# What each event type does to the dossier's entry, by the type's name (a partial reading of a
# type, see aap_contract.reading, is the same type); a type absent from here leaves it as is.
# (entry before or None, payload, envelope, summarize) -> entry after
OnEvent = Callable[[Any, Any, AnyEvent, Summarize], DossierEntry]
_ON: dict[str, OnEvent] = {
    "DossierSubmitted": _submitted,
    "DossierAmended": _amended,
    "EligibilityAssessed": _assessed,
    "DossierWithdrawn": lambda e, d, ev, _: _replace(e, status="withdrawn", updated_at=ev.occurred_at),
    "DocumentUploaded": _document,
    "ProjectSelected": lambda e, d, ev, _: _replace(
        e, status="selected", granted_cents=d.granted_cents, decision_session=d.session, updated_at=ev.occurred_at
    ),
    "ReservationRefused": lambda e, d, ev, _: _replace(
        e, status="selection_unfunded", granted_cents=None, updated_at=ev.occurred_at
    ),
    "CreditsReserved": lambda e, d, ev, _: _replace(
        e, status="selected", granted_cents=d.amount_cents, updated_at=ev.occurred_at
    ),
    "ProjectRejected": lambda e, d, ev, _: _replace(
        e, status="rejected", motivation=d.motivation, decision_session=d.session, updated_at=ev.occurred_at
    ),
    "ProjectDeferred": lambda e, d, ev, _: _replace(
        e, status="deferred", agenda_session=d.to_session, updated_at=ev.occurred_at
    ),
    "CreditsCommitted": lambda e, d, ev, _: _replace(
        e,
        status="committed",
        committed_cents=d.amount_cents,
        legal_reference=d.legal_reference,
        updated_at=ev.occurred_at,
    ),
}


def _lapsed(entry: DossierEntry, event: AnyEvent) -> DossierEntry:
    return _replace(entry, status="lapsed", updated_at=event.occurred_at)


def dossier_ids(event: AnyEvent) -> list[str]:
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

    def __init__(self, summarize: Summarize = keep) -> None:
        self._summarize = summarize  # private: not part of the audited state
        self.entries: dict[str, DossierEntry] = {}

    def change(self, event: AnyEvent) -> tuple[DossierEntry | None, DossierEntry | None]:
        """Apply the event; for an event about one dossier, its entry before and after (the
        same object if unchanged; None before a submission). (None, None) for the others."""
        d = event.data
        on = _ON.get(event.type)
        if on is not None:  # one dossier (a dispatch on the type: the replay's hot path)
            entries, dossier_id = self.entries, d.dossier_id
            old = entries.get(dossier_id)
            if old is None and on is not _submitted:
                return None, None
            new = entries[dossier_id] = on(old, d, event, self._summarize)
            return old, new
        entries = self.entries
        if isinstance(d, ReservationsLapsed):
            for lapse in d.lapses:
                old = entries.get(lapse.dossier_id)
                if old is not None:
                    entries[lapse.dossier_id] = _lapsed(old, event)
        return None, None  # a lapse (several dossiers), reviews, closings, notifications


# The event types `DossierIndex.evolve` acts on (a view's `Projection(types=...)` starts here).
INDEX_TYPES = frozenset([*_ON, ReservationsLapsed.__name__])


def initial_index(summarize: Summarize = keep) -> DossierIndex:
    return DossierIndex(summarize)


def evolve_index(index: DossierIndex, event: AnyEvent) -> DossierIndex:
    """Apply one event to the index, in place (a replay is linear); returns the index."""
    index.change(event)
    return index
