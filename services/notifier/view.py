"""The notifier's read model: what it must know to write the notifications and the lauréats.

Dossiers (titles, applicants, contacts, grants, motivations, eligibility failures) come from
the shared lifecycle index; on top of it, the sessions closed, the notifications already sent
and the dates of the legal commitments (the SCDL file's convention dates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from aap_contract.config import CallConfig
from aap_contract.entry import summary_with_applicants
from aap_contract.envelope import Event
from aap_contract.events import (
    BeneficiaryIdentified,
    CreditsCommitted,
    DnDossierImported,
    NotificationSent,
    OfficialDocumentIssued,
    ReservationsLapsed,
    SessionClosed,
)
from aap_contract.lifecycle import INDEX_TYPES, DossierIndex, evolve_index
from aap_contract.reading import SUMMARY_READING
from aap_platform.codec import decoder_with
from aap_platform.projection import Projection
from services.notifier.domain import Notification, collective_id, contacts, individual_id, lapse_id

# the event types the view acts on (the others are not decoded)
TYPES = INDEX_TYPES | {
    t.__name__
    for t in (
        SessionClosed,
        NotificationSent,
        CreditsCommitted,
        ReservationsLapsed,
        BeneficiaryIdentified,
        OfficialDocumentIssued,
        DnDossierImported,
    )
}
DECODE = decoder_with(SUMMARY_READING)  # a dossier is read as far as its summary needs


class ClosedSession(msgspec.Struct, frozen=True, gc=False):  # acyclic: untracked by the cyclic GC
    session: int
    closed_at: datetime
    laureates: tuple[str, ...]
    not_retained: tuple[str, ...]


class SentRecord(msgspec.Struct, frozen=True, gc=False):  # acyclic: untracked by the cyclic GC
    notification_id: str
    kind: str
    session: int
    dossier_ids: tuple[str, ...]
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    sent_at: datetime


@dataclass
class NotifierView:
    dossiers: DossierIndex = field(default_factory=lambda: DossierIndex(summary_with_applicants))
    sessions: dict[int, ClosedSession] = field(default_factory=dict)
    sent: dict[str, SentRecord] = field(default_factory=dict)
    committed_at: dict[str, datetime] = field(default_factory=dict)
    lapsed_at: dict[str, datetime] = field(default_factory=dict)  # the grants that lapsed, when
    # "dossier/SIREN" -> (SIRET, RNA) completed by an operator after the commitment
    identified: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    official: dict[str, OfficialDocumentIssued] = field(default_factory=dict)  # by document id
    from_dn: set[str] = field(default_factory=set)  # dossiers imported from Démarche Numérique


def identified_key(dossier_id: str, siren: str) -> str:
    return f"{dossier_id}/{siren}"


def initial_view() -> NotifierView:
    return NotifierView()


def evolve_view(view: NotifierView, event: Event) -> NotifierView:
    evolve_index(view.dossiers, event)
    d = event.data
    if isinstance(d, SessionClosed) and d.session not in view.sessions:
        # A session closes once; the first close is the one the notifications answer to.
        view.sessions[d.session] = ClosedSession(
            d.session, event.occurred_at, tuple(d.laureates), tuple(d.not_retained)
        )
    elif isinstance(d, NotificationSent) and d.notification_id not in view.sent:
        view.sent[d.notification_id] = SentRecord(
            d.notification_id,
            d.kind,
            d.session,
            tuple(d.dossier_ids),
            tuple(d.recipients),
            d.message_id,
            d.subject,
            event.occurred_at,
        )
    elif isinstance(d, CreditsCommitted):
        view.committed_at[d.dossier_id] = event.occurred_at
    elif isinstance(d, ReservationsLapsed):
        for lapse in d.lapses:
            view.lapsed_at.setdefault(lapse.dossier_id, event.occurred_at)
    elif isinstance(d, OfficialDocumentIssued):
        view.official.setdefault(d.document_id, d)
    elif isinstance(d, BeneficiaryIdentified):
        key = identified_key(d.dossier_id, d.siren)
        old_siret, old_rna = view.identified.get(key, (None, None))
        view.identified[key] = (d.siret or old_siret, d.rna or old_rna)
    elif isinstance(d, DnDossierImported):
        view.from_dn.add(d.dossier_id)
    return view


def due_notifications(view: NotifierView, delay: timedelta, dn_notifies: bool = False) -> list[Notification]:
    """Per closed session, in closing order: one individual notification per lauréat, then one
    collective notification to every dossier not retained. Deferred dossiers get nothing. Then
    one lapse notification per lauréat whose reservation lapsed at the commitment deadline.
    `dn_notifies` ([connector] notifications = "dn"): Démarche Numérique tells the applicants of the
    dossiers it gave of the committee's decision, so AAP sends them no second e-mail for it."""
    out: list[Notification] = []
    entries = view.dossiers.entries
    skip = view.from_dn if dn_notifies else set()
    for closed in sorted(view.sessions.values(), key=lambda s: (s.closed_at, s.session)):
        due_at = closed.closed_at + delay
        for dossier_id in closed.laureates:
            if dossier_id in skip:
                continue
            out.append(
                Notification(
                    individual_id(closed.session, dossier_id),
                    "individual",
                    closed.session,
                    (dossier_id,),
                    contacts([entries.get(dossier_id)]),
                    closed.closed_at,
                    due_at,
                )
            )
        ids = tuple(d for d in closed.not_retained if d not in skip)
        if ids:
            out.append(
                Notification(
                    collective_id(closed.session),
                    "collective",
                    closed.session,
                    ids,
                    tuple(sorted(contacts(entries.get(i) for i in ids), key=str.lower)),
                    closed.closed_at,
                    due_at,
                )
            )
    for closed in sorted(view.sessions.values(), key=lambda s: (s.closed_at, s.session)):
        for dossier_id in closed.laureates:
            lapsed_at = view.lapsed_at.get(dossier_id)
            if lapsed_at is not None:
                out.append(
                    Notification(
                        lapse_id(dossier_id),
                        "lapse",
                        closed.session,
                        (dossier_id,),
                        contacts([entries.get(dossier_id)]),
                        lapsed_at,
                        lapsed_at + delay,
                    )
                )
    return out


def projection(call: CallConfig) -> Projection[NotifierView]:
    """The view as the service runs it: fed by the call's stream, only the types it acts on."""
    return Projection("notifier", initial_view, evolve_view, types=TYPES, decode=DECODE)
