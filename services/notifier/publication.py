"""The public list of lauréats, as JSON and as the SCDL « subventions » open-data file.

SCDL subventions 2.1.1 (schema.data.gouv.fr/scdl/subventions, a copy in
tests/unit/scdl/schema.json): the 16 columns in the schema's order, one row per beneficiary.

- Only standing grants are published: a grant whose reservation lapsed at the commitment
  deadline is in neither list. The CSV lists the *conventions*: the committed grants, dated by
  their legal commitment (`dateConvention`); `referenceDecision` is the arrêté attributif's
  reference once issued (else the legal commitment's).
- `idBeneficiaire` is the structure's SIRET (from the dossier, or completed by an operator:
  `BeneficiaryIdentified`), `rnaBeneficiaire` its RNA number when it has one. A committed grant
  one of whose beneficiaries has neither stays out of the CSV and is listed by `incomplete`.
- A joint dossier is split between its structures only when the dossier states each one's
  share (`share_percent`); otherwise the whole grant is one row for the lead structure.
- The payment conditions, period and aid scheme are the call's (`[publication]`).
- Text cells that a spreadsheet would read as a formula (= + - @, tab, CR) are neutralised.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from aap_contract.config import CallConfig
from aap_contract.entry import ApplicantSummary, DossierEntry
from aap_contract.labels import departement_label
from aap_contract.money import format_decimal
from services.notifier.view import NotifierView, identified_key

SCDL_FIELDS = (
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "rnaBeneficiaire",
    "objet",
    "montant",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "idRAE",
    "notificationUE",
    "pourcentageSubvention",
    "dispositifAide",
)
# Free-text columns: where a value could start like a spreadsheet formula.
TEXT_FIELDS = ("nomAttribuant", "referenceDecision", "nomBeneficiaire", "objet", "conditionsVersement")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
OBJET_MAX = 256
BOM = "\ufeff"


def standing_laureates(view: NotifierView) -> list[tuple[int, DossierEntry]]:
    """(session, entry) of every lauréat whose grant still stands (not lapsed), session by session."""
    out = []
    for closed in sorted(view.sessions.values(), key=lambda s: s.session):
        for dossier_id in closed.laureates:
            entry = view.dossiers.entries.get(dossier_id)
            if entry is not None and entry.granted_cents is not None and entry.status != "lapsed":
                out.append((closed.session, entry))
    return out


def laureates(view: NotifierView, call: CallConfig | None = None) -> dict:
    """The public list; with the call, each code has its French label beside it."""
    themes, places = (call.themes, call.departements) if call is not None else ({}, {})
    sessions: dict[str, list[dict]] = {str(s): [] for s in sorted(view.sessions)}
    for session, entry in standing_laureates(view):
        sessions[str(session)].append(
            {
                "dossier_id": entry.dossier_id,
                "title": entry.title,
                "applicants": [{"name": a.name, "siren": a.siren} for a in entry.applicants],
                "departement": entry.departement,
                "departement_label": departement_label(entry.departement, places),
                "theme": entry.theme,
                "theme_label": themes.get(entry.theme, ""),
                "granted_cents": entry.granted_cents,
            }
        )
    return {"sessions": sessions}


def neutralised(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _identity(view: NotifierView, dossier_id: str, a: ApplicantSummary) -> tuple[str, str]:
    siret, rna = view.identified.get(identified_key(dossier_id, a.siren), (None, None))
    return siret or a.siret or "", rna or a.rna or ""


def _beneficiaries(entry: DossierEntry) -> list[tuple[ApplicantSummary, Decimal]]:
    """Each structure with its share of the grant: the dossier's stated split, else the lead alone."""
    applicants = entry.applicants
    stated = [a.share_percent for a in applicants]
    if applicants and all(s is not None for s in stated) and sum(s or 0 for s in stated) == 100:
        return [(a, Decimal(a.share_percent or 0) / 100) for a in applicants]
    lead = next((a for a in applicants if a.operational_contact), applicants[0] if applicants else None)
    return [(lead, Decimal(1))] if lead is not None else []


def _publishable(view: NotifierView) -> list[tuple[int, DossierEntry]]:
    return [(s, e) for s, e in standing_laureates(view) if e.status == "committed" and e.committed_cents is not None]


def incomplete(view: NotifierView, call: CallConfig) -> list[dict]:
    """Committed grants kept out of the SCDL file, and why (to be completed by an operator)."""
    out = []
    for session, entry in _publishable(view):
        missing = [
            {"name": a.name, "siren": a.siren}
            for a, _ in _beneficiaries(entry)
            if _identity(view, entry.dossier_id, a) == ("", "")
        ]
        reasons = []
        if missing:
            names = ", ".join(f"{m['name']} (SIREN {m['siren']})" for m in missing)
            reasons.append(f"ni SIRET ni numéro RNA pour : {names}")
        if call.publication.payment_period is None:
            reasons.append("période de versement non renseignée dans la configuration de l'appel ([publication])")
        if reasons:
            out.append(
                {
                    "dossier_id": entry.dossier_id,
                    "title": entry.title,
                    "session": session,
                    "committed_cents": entry.committed_cents,
                    "missing": missing,
                    "reasons": reasons,
                }
            )
    return out


def _decision_reference(view: NotifierView, entry: DossierEntry) -> str:
    """The act that decided the grant: its arrêté attributif when issued, else the legal commitment."""
    arretes = [d.reference for d in view.official.values() if d.dossier_id == entry.dossier_id and d.kind == "arrete"]
    return min(arretes) if arretes else entry.legal_reference or ""


def _number(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")  # 1.00, 0.45


def scdl_rows(view: NotifierView, call: CallConfig) -> list[dict[str, str]]:
    tz, pub, rows = call.tz, call.publication, []
    left_out = {item["dossier_id"] for item in incomplete(view, call)}
    for _, entry in _publishable(view):
        if entry.dossier_id in left_out:
            continue
        convention = view.committed_at[entry.dossier_id].astimezone(tz).date().isoformat()
        for applicant, share in _beneficiaries(entry):
            siret, rna = _identity(view, entry.dossier_id, applicant)
            row = {
                "nomAttribuant": call.call.attributor_name,
                "idAttribuant": call.call.attributor_id,
                "dateConvention": convention,
                "referenceDecision": _decision_reference(view, entry),
                "nomBeneficiaire": applicant.name,
                "idBeneficiaire": siret,
                "rnaBeneficiaire": rna,
                "objet": entry.title[:OBJET_MAX],
                "montant": format_decimal(entry.committed_cents or 0),
                "nature": "aide en numéraire",
                "conditionsVersement": pub.payment_conditions,
                "datesPeriodeVersement": pub.payment_period or "",
                "idRAE": "",
                "notificationUE": "non",
                "pourcentageSubvention": _number(share),
                "dispositifAide": pub.dispositif_aide,
            }
            for name in TEXT_FIELDS:
                row[name] = neutralised(row[name])
            row["objet"] = row["objet"][:OBJET_MAX]  # the schema's limit, apostrophe included
            rows.append(row)
    return rows


def to_csv(rows: list[dict[str, str]], bom: bool = False) -> str:
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.DictWriter(buffer, fieldnames=SCDL_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
