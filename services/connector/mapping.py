"""A Démarche Numérique dossier (as `graphql/dossiers.graphql` selects it) turned into AAP's Dossier,
or the list of what prevents it, in French. Pure: the call's [connector] section says which champ
descriptor gives which field and what each DN option means.

Values are read from `stringValue` where DN gives every champ as text (a champ DN returns as
another type keeps its text), from the typed selections only where text is ambiguous (the options
of a multiple choice) or absent (a SIRET's establishment). Amounts are exact decimals turned into
integer cents; a float never holds money.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import msgspec

from aap_contract.config import CallConfig, Connector, DemarcheLink
from aap_contract.dossier import (
    Applicant,
    Contact,
    Document,
    Dossier,
    Expense,
    ExpenseCategory,
    Financing,
    Section,
    Software,
    siren_is_valid,
)

Node = dict[str, Any]
THEME_CODE = re.compile(r"^\s*(\d+(?:\.\d+)*)\b")
MAX_CENTS = 10**13
FIELD_LABELS = {  # a champ missing from the dossier is named by what the dossier needs from it
    "applicant_name": "nom de la collectivité porteuse",
    "applicant_kind": "type de collectivité",
    "applicant_departement": "département du siège",
    "contact_name": "interlocuteur opérationnel",
    "contact_email": "adresse électronique de l'interlocuteur",
    "title": "intitulé du projet",
    "summary": "description du projet",
    "theme": "thème et sous-thème",
    "global_cost": "coût global",
    "requested": "subvention sollicitée",
    "expense_label": "nature de la dépense",
    "expense_category": "catégorie de dépense",
    "expense_amount": "montant de la dépense",
    "resource_kind": "type de ressource",
    "resource_amount": "montant de la ressource",
    "joint_establishment": "SIRET de la structure associée",
    "joint_kind": "type de structure",
    "joint_contact_name": "référent de la structure",
    "joint_contact_email": "adresse électronique du référent",
}


class DnFile(msgspec.Struct, frozen=True):
    champ_id: str
    filename: str
    checksum: str
    url: str


def fingerprint(node: Node) -> str:
    """What the dossier says (champs and demandeur), without what moves by itself (file URLs,
    dates, state): the same content gives the same fingerprint."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in sorted(value.items()) if k != "url"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    content = {"demandeur": strip(node.get("demandeur")), "champs": strip(node.get("champs"))}
    return hashlib.sha256(msgspec.json.encode(content)).hexdigest()


def by_descriptor(champs: list[Node] | None) -> dict[str, Node]:
    return {c["champDescriptorId"]: c for c in champs or () if isinstance(c, dict) and "champDescriptorId" in c}


def file_of(node: Node, link: DemarcheLink) -> DnFile | None:
    champ = by_descriptor(node.get("champs")).get(link.champs["document"])
    files = (champ or {}).get("files") or []
    if champ is None or not files:
        return None
    f = files[0]
    return DnFile(
        champ_id=champ["id"],
        filename=f.get("filename") or "document.pdf",
        checksum=f.get("checksum") or "",
        url=f.get("url") or "",
    )


class _Reader:
    """Reads champs by field name, collecting every problem instead of stopping at the first."""

    def __init__(self, champs: dict[str, Node], ids: dict[str, str], problems: list[str], where: str = "") -> None:
        self.champs, self.ids, self.problems, self.where = champs, ids, problems, where

    def champ(self, field: str) -> Node | None:
        descriptor = self.ids.get(field)
        return self.champs.get(descriptor) if descriptor else None

    def text(self, field: str, *, required: bool = True) -> str:
        champ = self.champ(field)
        value = (champ or {}).get("stringValue")
        value = value.strip() if isinstance(value, str) else ""
        if not value and required:
            label = (champ or {}).get("label") or FIELD_LABELS.get(field, field)
            self.problems.append(f"{self.where}champ « {label} » {'vide' if champ else 'absent du dossier'}")
        return value

    def flag(self, field: str) -> bool:
        return self.text(field, required=False).lower() in ("true", "oui", "1")

    def option(self, field: str, meanings: dict[str, str], what: str) -> str:
        value = self.text(field)
        if value and value not in meanings:
            self.problems.append(f"{self.where}{what} inconnu(e) : « {value} »")
            return ""
        return meanings.get(value, "")

    def cents(self, field: str, *, text: str | None = None) -> int:
        raw = self.text(field) if text is None else text
        if not raw:
            return 0
        cleaned = re.sub(r"[\s\u00a0\u202f€]", "", raw).replace(",", ".")
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            amount = Decimal("NaN")
        if (
            not amount.is_finite()
            or amount < 0
            or (amount * 100) != (amount * 100).to_integral_value()
            or amount * 100 > MAX_CENTS
        ):
            label = (self.champ(field) or {}).get("label") or FIELD_LABELS.get(field, field)
            self.problems.append(f"{self.where}montant illisible pour « {label} » : « {raw} »")
            return 0
        return int(amount * 100)

    def rows(self, field: str) -> list[dict[str, Node]]:
        champ = self.champ(field)
        return [by_descriptor(r.get("champs")) for r in (champ or {}).get("rows") or () if isinstance(r, dict)]


def _siren(siret: str | None, siren: str | None, who: str, problems: list[str]) -> tuple[str, str | None]:
    siret = siret if siret and re.fullmatch(r"\d{14}", siret) else None
    siren = siren or (siret[:9] if siret else "")
    if not siren_is_valid(siren):
        problems.append(f"SIREN absent ou invalide pour {who} : « {siren} »")
    return siren, siret


def _departement(reader: _Reader) -> str:
    champ = reader.champ("applicant_departement") or {}
    code = (champ.get("departement") or {}).get("code")
    if code:
        return str(code)
    return reader.text("applicant_departement").split(" - ")[0].strip()


def _theme(reader: _Reader, call: CallConfig) -> str:
    value = reader.text("theme")
    found = THEME_CODE.match(value)
    code = found.group(1) if found else ""
    if value and ("." not in code or code not in call.themes):
        reader.problems.append(f"thème inconnu : « {value} »")
    return code


def _joint(reader: _Reader, c: Connector, problems: list[str]) -> list[Applicant]:
    out = []
    for i, row in enumerate(reader.rows("joint") if "joint" in reader.ids else [], start=1):
        r = _Reader(row, reader.ids, problems, f"structure associée n° {i} : ")
        siret_champ = r.champ("joint_establishment") or {}
        etab = siret_champ.get("etablissement") or {}
        siren, siret = _siren(
            etab.get("siret") or r.text("joint_establishment"),
            (etab.get("entreprise") or {}).get("siren"),
            f"la structure associée n° {i}",
            problems,
        )
        name = (etab.get("entreprise") or {}).get("raisonSociale") or f"Structure {siret or siren}"
        departement = str((etab.get("address") or {}).get("departmentCode") or "")
        if not departement:
            problems.append(f"structure associée n° {i} : département du siège inconnu (SIRET {siret or '?'})")
        out.append(
            Applicant(
                name=name,
                siren=siren,
                siret=siret,
                kind=r.option("joint_kind", c.kinds, "type de structure"),
                departement=departement,
                operational_contact=False,
                validated=r.flag("joint_validated"),
                resources_committed=r.flag("joint_resources_committed"),
                contact=Contact(name=r.text("joint_contact_name"), email=r.text("joint_contact_email")),
            )
        )
    return out


def map_dossier(node: Node, track: str, link: DemarcheLink, call: CallConfig) -> Dossier | list[str]:
    """The dossier, or every reason it cannot be mapped (in French)."""
    c = call.connector
    assert c is not None
    problems: list[str] = []
    r = _Reader(by_descriptor(node.get("champs")), link.champs, problems)
    demandeur = node.get("demandeur") or {}
    siren, siret = _siren(
        demandeur.get("siret"), (demandeur.get("entreprise") or {}).get("siren"), "le demandeur", problems
    )
    applicant = Applicant(
        name=r.text("applicant_name"),
        siren=siren,
        siret=siret,
        kind=r.option("applicant_kind", c.kinds, "type de collectivité"),
        departement=_departement(r),
        operational_contact=True,
        validated=r.flag("validated"),
        resources_committed=r.flag("resources_committed"),
        contact=Contact(
            name=r.text("contact_name"),
            email=r.text("contact_email"),
            phone=r.text("contact_phone", required=False) or None,
        ),
    )
    expenses = []
    for i, row in enumerate(r.rows("expenses"), start=1):
        e = _Reader(row, link.champs, problems, f"dépense n° {i} : ")
        expenses.append(
            Expense(
                label=e.text("expense_label"),
                category=cast(
                    ExpenseCategory,
                    e.option("expense_category", c.expense_categories, "catégorie de dépense") or "other",
                ),
                amount_cents=e.cents("expense_amount"),
            )
        )
    own = other = 0
    for i, row in enumerate(r.rows("resources"), start=1):
        f = _Reader(row, link.champs, problems, f"ressource n° {i} : ")
        side, amount = f.option("resource_kind", c.resources, "type de ressource"), f.cents("resource_amount")
        own, other = (own + amount, other) if side == "own" else (own, other + amount)
    financing = Financing(
        global_cost_cents=r.cents("global_cost"),
        requested_cents=r.cents("requested"),
        own_funding_cents=own,
        other_funding_cents=other,
    )
    sections: list[Section] = []
    for label in (r.champ("document_sections") or {}).get("values") or ():
        if label in c.sections:
            sections.append(cast(Section, c.sections[label]))
        else:
            problems.append(f"partie de la note explicative inconnue : « {label} »")
    file = file_of(node, link)
    dossier = Dossier(
        track=track,
        title=r.text("title"),
        summary=r.text("summary"),
        theme=_theme(r, call),
        applicants=[applicant, *_joint(r, c, problems)],
        financing=financing,
        expenses=expenses,
        software=Software(involved=r.flag("software_involved"), free_software=r.flag("free_software")),
        document=Document(filename=file.filename, sections=sections) if file else None,
    )
    return problems or dossier
