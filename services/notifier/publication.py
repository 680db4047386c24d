"""The public list of lauréats, as JSON and as the SCDL « subventions » open-data file.

SCDL subventions 1.1 (schema.data.gouv.fr/scdl/subventions): one row per beneficiary; a joint
dossier gives one row per structure, each with the dossier's whole `montant` and its share in
`pourcentageSubvention` (shares split evenly, to 4 decimals, the remainder to the lead
structure, so that they sum to exactly 1).
"""

from __future__ import annotations

import csv
import io
from decimal import ROUND_DOWN, Decimal

from aap_contract.config import CallConfig
from aap_contract.money import format_decimal
from services.notifier.view import NotifierView

SCDL_FIELDS = (
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "objet",
    "montant",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "idRAE",
    "notificationUE",
    "pourcentageSubvention",
)
STEP = Decimal("0.0001")


def laureates(view: NotifierView) -> dict:
    sessions: dict[str, list[dict]] = {}
    for closed in sorted(view.sessions.values(), key=lambda s: s.session):
        items = []
        for dossier_id in closed.laureates:
            entry = view.dossiers.entries.get(dossier_id)
            if entry is None:
                continue
            items.append(
                {
                    "dossier_id": dossier_id,
                    "title": entry.title,
                    "applicants": [{"name": a.name, "siren": a.siren} for a in entry.applicants],
                    "departement": entry.departement,
                    "theme": entry.theme,
                    "granted_cents": entry.granted_cents,
                }
            )
        sessions[str(closed.session)] = items
    return {"sessions": sessions}


def shares(n: int) -> list[Decimal]:
    """n shares of 1, to 4 decimals, summing to exactly 1 (the first takes the remainder)."""
    even = (Decimal(1) / n).quantize(STEP, rounding=ROUND_DOWN)
    return [Decimal(1) - even * (n - 1)] + [even] * (n - 1)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")  # 0.5, 0.3334, 1


def scdl_rows(view: NotifierView, call: CallConfig) -> list[dict[str, str]]:
    tz, rows = call.tz, []
    payment_end = call.budget.commitment_deadline.astimezone(tz).date().isoformat()
    for closed in sorted(view.sessions.values(), key=lambda s: s.session):
        for dossier_id in closed.laureates:
            entry = view.dossiers.entries.get(dossier_id)
            if entry is None or entry.granted_cents is None:
                continue
            convention = view.committed_at.get(dossier_id, closed.closed_at).astimezone(tz).date().isoformat()
            lead_first = sorted(entry.applicants, key=lambda a: not a.operational_contact)
            for applicant, share in zip(lead_first, shares(len(lead_first))):
                rows.append(
                    {
                        "nomAttribuant": call.call.attributor_name,
                        "idAttribuant": call.call.attributor_id,
                        "dateConvention": convention,
                        "referenceDecision": entry.legal_reference or f"{call.id}-session-{closed.session}",
                        "nomBeneficiaire": applicant.name,
                        "idBeneficiaire": applicant.siret or "",
                        "objet": entry.title[:255],
                        "montant": format_decimal(entry.granted_cents),
                        "nature": "aide en numéraire",
                        "conditionsVersement": "unique",
                        "datesPeriodeVersement": f"{convention}/{max(convention, payment_end)}",
                        "idRAE": "",
                        "notificationUE": "non",
                        "pourcentageSubvention": _number(share),
                    }
                )
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SCDL_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
