"""A dossier's whole history, readable by an auditor: every event, when, by whom, its effect."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from aap.audit.log import Record
from aap_contract.config import CallConfig
from aap_contract.envelope import Event
from aap_contract.events import (
    BeneficiaryIdentified,
    CreditsCommitted,
    CreditsReserved,
    DocumentUploaded,
    DossierAmended,
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
    NotificationSent,
    ProjectDeferred,
    ProjectRejected,
    ProjectSelected,
    ReservationRefused,
    ReservationsLapsed,
    ReviewRecorded,
    SessionClosed,
)
from aap_contract.lifecycle import DossierIndex, dossier_ids, evolve_index, status_label
from aap_contract.money import format_euros
from aap_platform.codec import decode


def concerns(event: Event, dossier_id: str) -> bool:
    d = event.data
    if isinstance(d, SessionClosed):
        return dossier_id in d.laureates or dossier_id in d.not_retained
    if isinstance(d, NotificationSent):
        return dossier_id in d.dossier_ids
    return dossier_id in dossier_ids(event)


KIND_LABELS = {"individual": "individuelle", "collective": "collective", "lapse": "de caducité"}


def _member(member_id: str, call: CallConfig | None) -> str:
    member = call.member(member_id) if call is not None else None
    return member.name if member is not None else member_id


def effect(event: Event, dossier_id: str, call: CallConfig | None = None) -> str:
    d = event.data
    match d:
        case DossierSubmitted():
            return f"dépôt du dossier « {d.dossier.title} », rattaché à la session {d.session}"
        case DossierAmended():
            return f"modification du dossier, rattaché à la session {d.session}"
        case DossierWithdrawn():
            return "retrait du dossier par le porteur" + (f" : {d.reason}" if d.reason else "")
        case DocumentUploaded():
            return f"dépôt du document {d.filename} ({d.size} octets, sha256 {d.sha256[:12]}…)"
        case EligibilityAssessed():
            if d.eligible:
                return "instruction : dossier éligible"
            return "instruction : dossier inéligible — " + " ; ".join(f"{f.code} : {f.message}" for f in d.failures)
        case ReviewRecorded():
            s = d.scores
            return (
                f"avis de {_member(d.member_id, call)} (session {d.session}) : diagnostic {s.diagnosis}, "
                f"co-construction {s.co_construction}, feuille de route {s.roadmap}, logiciel libre "
                + ("sans objet" if s.free_software is None else str(s.free_software))
            )
        case ProjectSelected():
            return f"comité (session {d.session}) : retenu, subvention de {format_euros(d.granted_cents)}"
        case ProjectRejected():
            return f"comité (session {d.session}) : non retenu — {d.motivation}"
        case ProjectDeferred():
            return f"comité (session {d.session}) : ajourné à la session {d.to_session}"
        case CreditsReserved():
            return f"budget : {format_euros(d.amount_cents)} réservés sur l'enveloppe"
        case ReservationRefused():
            return f"budget : réservation refusée ({d.code}), disponible {format_euros(d.available_cents)}"
        case CreditsCommitted():
            return f"budget : engagement juridique {d.legal_reference}, {format_euros(d.amount_cents)}"
        case ReservationsLapsed():
            return "budget : réservation caduque à la date limite d'engagement"
        case BeneficiaryIdentified():
            ids = ", ".join(x for x in (d.siret and f"SIRET {d.siret}", d.rna and f"RNA {d.rna}") if x)
            return f"budget : bénéficiaire SIREN {d.siren} complété ({ids})"
        case SessionClosed():
            verdict = "lauréat" if dossier_id in d.laureates else "non retenu"
            return f"clôture de la session {d.session} : {verdict}"
        case NotificationSent():
            return (
                f"notification {KIND_LABELS.get(d.kind, d.kind)} envoyée à {', '.join(d.recipients)} "
                f"(Message-ID {d.message_id})"
            )
    return event.type


def timeline(records: Iterable[Record], dossier_id: str, tz: ZoneInfo, call: CallConfig | None = None) -> list[str]:
    lines: list[str] = []
    index = DossierIndex()
    for r in records:
        event = decode(r.data)
        if not concerns(event, dossier_id):
            continue
        evolve_index(index, event)
        entry = index.entries.get(dossier_id)
        when = event.occurred_at.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S")
        status = f"[{status_label(entry.status, 1)}]" if entry else ""
        line = f"#{r.seq:<6} {when}  {event.actor:<12} {event.type:<20} {effect(event, dossier_id, call)} {status}"
        lines.append(printable(line.rstrip()))
    return lines


def printable(text: str, limit: int = 2000) -> str:
    """What an auditor's terminal may be given: control characters (escape sequences, CR, LF,
    NUL…) shown as \\xNN, and no line longer than `limit`."""
    out = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return out if len(out) <= limit else out[:limit] + "…"
