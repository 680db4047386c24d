"""The official documents of each decision (SPEC §8, a préfecture's practice): for a lauréat the
arrêté attributif de subvention and its lettre de notification, for a dossier not retained the
lettre de non-sélection. Jinja2 templates (French, overridable per call like the e-mails, under
`documents/`) rendered to PDF/A-3b by WeasyPrint, fonts embedded.

Deterministic: the same log gives the same bytes (no clock, no random identifier: the PDF's
identifier and dates come from the decision), so an auditor's regeneration is compared with the
SHA-256 recorded when the document was issued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from weasyprint import HTML

from aap_contract.config import CallConfig
from aap_contract.dossier import Dossier
from aap_contract.entry import DossierEntry
from aap_contract.events import OfficialKind
from aap_contract.french import french_date
from aap_contract.labels import CATEGORY_LABELS, departement_label, kind_label
from aap_contract.money import format_euros
from services.notifier.render import DEFAULT_DIR

KINDS: dict[str, tuple[OfficialKind, ...]] = {
    "laureate": ("arrete", "notification"),
    "not_retained": ("non_selection",),
}
TITLES: dict[str, str] = {
    "arrete": "Arrêté attributif de subvention",
    "notification": "Lettre de notification",
    "non_selection": "Lettre de non-sélection",
}


def document_id(session: int, kind: str, dossier_id: str) -> str:
    return f"s{session}-{kind}-{dossier_id}"


def reference(call: CallConfig, session: int, kind: OfficialKind, rank: int) -> str:
    """The decision's reference: the arrêté and its letter share it; a non-selection has its own."""
    prefix = "NS" if kind == "non_selection" else "AS"
    return f"{call.call.id.upper()}-S{session}-{prefix}{rank:03d}"


def file_name(kind: str, reference_: str) -> str:
    return f"{FILE_PREFIX[kind]}-{reference_}.pdf"


FILE_PREFIX = {
    "arrete": "arrete-attributif",
    "notification": "lettre-de-notification",
    "non_selection": "lettre-de-non-selection",
}


@dataclass(frozen=True)
class Decision:
    """What a document states: the dossier as decided, the session's closing, the reference."""

    kind: OfficialKind
    session: int
    reference: str
    issued_at: datetime  # the session's closing: the date of the decision
    entry: DossierEntry  # the notifier's view of the dossier (status, grant, motivation, failures)
    dossier: Dossier  # its last content, read from the log (expenses, applicants)
    submitted_at: datetime


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return ""
    hundredths = round(part * 10_000 / whole)
    return f"{hundredths // 100},{hundredths % 100:02d}\u00a0%"


def context(d: Decision, call: CallConfig) -> dict[str, Any]:
    dossier, entry, docs, tz = d.dossier, d.entry, call.documents, call.tz
    lead = next((a for a in dossier.applicants if a.operational_contact), dossier.applicants[0])
    excluded = set(call.eligibility.excluded_expense_categories)
    granted = entry.granted_cents or 0
    return {
        "reference": d.reference,
        "session": d.session,
        "issued": french_date(d.issued_at, tz),
        "issued_iso": d.issued_at.astimezone(tz).isoformat(),
        "submitted": french_date(d.submitted_at, tz),
        "call_title": call.call.title,
        "attributor_name": call.call.attributor_name,
        "attributor_id": call.call.attributor_id,
        "sender_email": call.call.sender_email,
        "signatory": docs.signatory,
        "visas": docs.visas,
        "start_months": docs.start_months,
        "completion_months": docs.completion_months,
        "payment": docs.payment,
        "appeal_court": call.notifications.appeal_court,
        "commitment_deadline": french_date(call.budget.commitment_deadline, tz),
        "dossier": {"title": dossier.title},
        "theme": dossier.theme,
        "theme_label": call.themes.get(dossier.theme, ""),
        "beneficiary": {
            "name": lead.name,
            "siren": lead.siren,
            "siret": lead.siret,
            "kind_label": kind_label(lead.kind),
            "departement_label": departement_label(lead.departement, call.departements),
        },
        "partners": [f"{a.name} (SIREN {a.siren})" for a in dossier.applicants if a is not lead],
        "granted": format_euros(granted),
        "global_cost": format_euros(dossier.financing.global_cost_cents),
        "rate": _percent(granted, dossier.financing.global_cost_cents),
        "expenses": [
            {
                "label": e.label,
                "category": CATEGORY_LABELS.get(e.category, e.category),
                "amount": format_euros(e.amount_cents),
            }
            for e in dossier.expenses
            if e.category not in excluded
        ],
        "ineligible": entry.eligible is False,
        "reasons": [f.message for f in entry.failures],
        "motivation": entry.motivation or "",
    }


class OfficialDocuments:
    def __init__(self, override: Path | None = None) -> None:
        folders = [str(override)] if override else []
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(folders + [str(DEFAULT_DIR)])]),
            undefined=StrictUndefined,
            autoescape=True,
        )

    def html(self, d: Decision, call: CallConfig) -> str:
        return self.env.get_template(f"documents/{d.kind}.html.j2").render(context(d, call))

    def pdf(self, d: Decision, call: CallConfig) -> bytes:
        """PDF/A-3b, fonts embedded; its identifier is the reference (no random part)."""
        identifier = hashlib.sha256(f"{d.reference}/{d.kind}".encode()).hexdigest()[:32].encode()
        pdf: bytes = HTML(string=self.html(d, call)).write_pdf(pdf_variant="pdf/a-3b", pdf_identifier=identifier)
        return pdf


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
