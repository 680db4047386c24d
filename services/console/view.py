"""The console's own read models, fed by the call's stream like every service's views:

- the dossier index (the shared lifecycle, each entry a summary), for the dashboard's counts and
  the `/dossiers` list: filtering by track, sorting and the CSV export over the whole call need
  every dossier at hand, which the services' paginated APIs would give one page at a time;
- each dossier's timeline (every event that concerns it, in log order, with who and when): no
  service serves it over HTTP, and the audit page shows it as of any instant.

Pure: an initial value and an evolve; the runner (`aap_platform.projection`) feeds it.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from aap_contract.config import CallConfig
from aap_contract.entry import summary
from aap_contract.envelope import Event
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    DocumentUploaded,
    DossierAmended,
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
    NotificationSent,
    OfficialDocumentIssued,
    ProjectDeferred,
    ProjectRejected,
    ProjectSelected,
    ReservationRefused,
    ReservationsLapsed,
    ReviewRecorded,
    Scores,
    SessionClosed,
)
from aap_contract.lifecycle import DossierIndex, evolve_index, initial_index
from aap_contract.money import format_euros
from aap_contract.reading import SUMMARY_READING
from aap_platform.codec import decoder_with
from aap_platform.projection import Projection

DECODE = decoder_with(SUMMARY_READING)  # a dossier is read as far as its summary needs


OFFICIAL_KINDS = {
    "arrete": "arrêté attributif",
    "notification": "lettre de notification",
    "non_selection": "lettre de non-sélection",
}


class Step(msgspec.Struct, frozen=True):
    """One line of a dossier's timeline."""

    at: datetime
    type: str
    actor: str
    text: str  # in French
    sequence: int  # the event's sequence in its aggregate
    aggregate: str
    member_id: str | None = None  # a review's member (the page shows the member's name)
    note: str | None = None  # a withdrawal's reason: shown to the roles the register allows


class ConsoleView:
    def __init__(self) -> None:
        self.index: DossierIndex = initial_index(summary)
        self.timeline: dict[str, list[Step]] = {}
        # dossier id -> session (as text) -> member id -> the member's last scores
        self.reviews: dict[str, dict[str, dict[str, Scores]]] = {}
        self.documents: dict[str, DocumentUploaded] = {}  # dossier id -> its last PDF (a summary omits it)
        self.events = 0


def initial_view() -> ConsoleView:
    return ConsoleView()


def evolve_view(view: ConsoleView, event: Event) -> ConsoleView:
    """In place (the projection runner holds the only reference), like every view."""
    view.events += 1
    evolve_index(view.index, event)
    d = event.data
    member = None
    if isinstance(d, DocumentUploaded):
        view.documents[d.dossier_id] = d
    elif isinstance(d, ReviewRecorded):
        view.reviews.setdefault(d.dossier_id, {}).setdefault(str(d.session), {})[d.member_id] = d.scores
        member = d.member_id
    note = d.reason or None if isinstance(d, DossierWithdrawn) else None
    for dossier_id, text in describe(event):
        view.timeline.setdefault(dossier_id, []).append(
            Step(
                event.occurred_at,
                event.type,
                event.actor,
                text,
                event.sequence,
                f"{event.aggregate_type}/{event.aggregate_id}",
                member,
                note,
            )
        )
    return view


def projection(call: CallConfig) -> Projection[ConsoleView]:
    """The view as the console runs it: every event type (the timeline shows them all)."""
    return Projection("console", initial_view, evolve_view, decode=DECODE)


def describe(event: Event) -> list[tuple[str, str]]:
    """(dossier id, what happened to it, in French) for each dossier the event concerns."""
    d = event.data
    # the dossier events are read partially (DECODE): recognised by their type's name
    if event.type == DossierSubmitted.__name__:
        return [(d.dossier_id, f"Dossier déposé (relevé {d.session}) : « {d.dossier.title} »")]
    if event.type == DossierAmended.__name__:
        return [(d.dossier_id, f"Dossier modifié (relevé {d.session})")]
    if isinstance(d, DossierWithdrawn):
        return [(d.dossier_id, "Dossier retiré par son porteur")]
    if isinstance(d, DocumentUploaded):
        return [(d.dossier_id, f"Document déposé : {d.filename} ({d.size:,} octets)".replace(",", "\u202f"))]
    if isinstance(d, EligibilityAssessed):
        if d.eligible:
            return [(d.dossier_id, "Éligibilité examinée : éligible")]
        return [(d.dossier_id, "Éligibilité examinée : inéligible — " + " ; ".join(f.message for f in d.failures))]
    if isinstance(d, ReviewRecorded):
        return [(d.dossier_id, f"Avis d'un membre du comité (session {d.session})")]
    if isinstance(d, ProjectSelected):
        return [(d.dossier_id, f"Retenu en session {d.session} : {format_euros(d.granted_cents)} accordés")]
    if isinstance(d, ProjectRejected):
        return [(d.dossier_id, f"Non retenu en session {d.session} : {d.motivation}")]
    if isinstance(d, ProjectDeferred):
        return [(d.dossier_id, f"Ajourné en session {d.session}, reporté à la session {d.to_session}")]
    if isinstance(d, SessionClosed):
        return [(i, f"Session {d.session} close : lauréat") for i in d.laureates] + [
            (i, f"Session {d.session} close : non retenu") for i in d.not_retained
        ]
    if isinstance(d, CreditsReserved):
        return [(d.dossier_id, f"Crédits réservés : {format_euros(d.amount_cents)}")]
    if isinstance(d, ReservationRefused):
        return [
            (
                d.dossier_id,
                (
                    f"Réservation refusée : {format_euros(d.amount_cents)} demandés, "
                    f"{format_euros(d.available_cents)} disponibles"
                ),
            )
        ]
    if isinstance(d, CreditsCommitted):
        return [(d.dossier_id, f"Crédits engagés : {format_euros(d.amount_cents)} (engagement {d.legal_reference})")]
    if isinstance(d, ReservationsLapsed):
        return [
            (
                lapse.dossier_id,
                (
                    f"Réservation caduque à la date limite d'engagement : "
                    f"{format_euros(lapse.amount_cents)} rendus à l'enveloppe"
                ),
            )
            for lapse in d.lapses
        ]
    if isinstance(d, NotificationSent):
        kind = "individuelle" if d.kind == "individual" else "collective"
        return [
            (i, f"Notification {kind} envoyée (session {d.session}) à {len(d.recipients)} destinataire(s)")
            for i in d.dossier_ids
        ]
    if isinstance(d, OfficialDocumentIssued):
        return [
            (d.dossier_id, f"Document officiel émis : {OFFICIAL_KINDS.get(d.kind, d.kind)} (référence {d.reference})")
        ]
    return []
