"""The eligibility rules of SPEC §5, read from the call's configuration. Pure: no I/O.

Each rule is a small function `(dossier, call) -> French sentence | None` (None: it passes);
`RULES` is their table in the order of the SPEC. `assess` lists every rule that fails.
Amounts are int cents and rates are compared with integer arithmetic only.
"""

from __future__ import annotations

from collections.abc import Callable

from aap_contract.config import CallConfig
from aap_contract.dossier import Applicant, Dossier
from aap_contract.events import RuleFailure
from aap_contract.labels import CATEGORY_LABELS, SECTION_LABELS, TRACK_LABELS, departement_label, kind_label
from aap_contract.money import format_euros as eur

Rule = Callable[[Dossier, CallConfig], str | None]


def who(a: Applicant) -> str:
    return f"« {a.name} » (SIREN {a.siren})"


def listing(items: list[str]) -> str:
    return " ; ".join(items)


def applicant_kind(d: Dossier, call: CallConfig) -> str | None:
    kinds = call.eligibility.applicant_kinds
    bad = [f"{who(a)} est de nature « {kind_label(a.kind)} »" for a in d.applicants if a.kind not in kinds]
    if bad:
        eligible = ", ".join(kind_label(k) for k in kinds)
        return f"Porteur de nature non éligible : {listing(bad)} ; natures éligibles : {eligible}."
    return None


def applicant_territory(d: Dossier, call: CallConfig) -> str | None:
    deps = call.departements
    bad = [
        f"{who(a)} a son siège dans le département {departement_label(a.departement)}"
        for a in d.applicants
        if a.departement not in deps
    ]
    if bad:
        return (
            f"Porteur hors du territoire de l'appel : {listing(bad)} ; "
            f"départements de l'appel : {', '.join(departement_label(c, deps) for c in sorted(deps))}."
        )
    return None


def joint_contact(d: Dossier, call: CallConfig) -> str | None:
    contacts = [a for a in d.applicants if a.operational_contact]
    if len(contacts) == 1:
        return None
    if not contacts:
        return "Aucun porteur n'est désigné comme interlocuteur opérationnel, alors qu'il en faut exactement un."
    return (
        f"{len(contacts)} porteurs sont désignés comme interlocuteur opérationnel "
        f"({', '.join(who(a) for a in contacts)}), alors qu'il en faut exactement un."
    )


def joint_commitment(d: Dossier, call: CallConfig) -> str | None:
    bad = []
    for a in d.applicants:
        missing = ([] if a.validated else ["n'a pas validé le projet par son instance de décision"]) + (
            [] if a.resources_committed else ["n'a pas engagé ses compétences et ressources internes"]
        )
        if missing:
            bad.append(f"{who(a)} {' et '.join(missing)}")
    return f"Engagement des porteurs incomplet : {listing(bad)}." if bad else None


def theme(d: Dossier, call: CallConfig) -> str | None:
    code = d.theme
    if "." not in code or code not in call.themes:
        return f"La sous-thématique « {code} » n'existe pas dans cet appel."
    parent = code.rsplit(".", 1)[0]
    allowed = call.tracks.get(d.track)
    if allowed is None:
        tracks = ", ".join(f"« {TRACK_LABELS.get(t, t)} »" for t in call.tracks)
        return f"La démarche « {d.track} » n'existe pas dans cet appel (démarches : {tracks})."
    if parent not in allowed:
        return (
            f"La sous-thématique {code} « {call.themes[code]} » relève de la thématique {parent}, "
            f"qui n'appartient pas à la {TRACK_LABELS.get(d.track, d.track)} (thématiques {', '.join(allowed)})."
        )
    return None


def operating_budget(d: Dossier, call: CallConfig) -> str | None:
    excluded = call.eligibility.excluded_expense_categories
    bad = [
        f"« {e.label} » ({eur(e.amount_cents)}, {CATEGORY_LABELS.get(e.category, e.category)})"
        for e in d.expenses
        if e.category in excluded
    ]
    if bad:
        return f"Dépenses que l'appel ne finance pas : {listing(bad)}."
    return None


def cost_range(d: Dossier, call: CallConfig) -> str | None:
    low, high = call.eligibility.cost_min_exclusive_cents, call.eligibility.cost_max_exclusive_cents
    cost = d.financing.global_cost_cents
    if low < cost < high:
        return None
    return f"Le coût global de {eur(cost)} n'est pas strictement compris entre {eur(low)} et {eur(high)}."


def financing_plan(d: Dossier, call: CallConfig) -> str | None:
    f = d.financing
    funded = f.requested_cents + f.own_funding_cents + f.other_funding_cents
    spent = sum(e.amount_cents for e in d.expenses)
    gaps = []
    if funded != f.global_cost_cents:
        gaps.append(
            f"à la somme des financements, {eur(funded)} (demandé {eur(f.requested_cents)}, "
            f"autofinancement {eur(f.own_funding_cents)}, autres {eur(f.other_funding_cents)})"
        )
    if spent != f.global_cost_cents:
        gaps.append(f"au total des lignes de dépenses, {eur(spent)}")
    if gaps:
        return (
            f"Plan de financement déséquilibré : le coût global de {eur(f.global_cost_cents)} "
            f"n'est pas égal {' ni '.join(gaps)}."
        )
    return None


def funding_rate(d: Dossier, call: CallConfig) -> str | None:
    lo, hi = call.eligibility.rate_min_percent, call.eligibility.rate_max_percent
    asked, cost = d.financing.requested_cents, d.financing.global_cost_cents
    if lo * cost <= asked * 100 <= hi * cost:
        return None
    side = "moins" if asked * 100 < lo * cost else "plus"
    floor_cents, ceiling_cents = -(-lo * cost // 100), hi * cost // 100
    return (
        f"Le montant demandé de {eur(asked)} représente {side} de {lo if side == 'moins' else hi} % "
        f"du coût global de {eur(cost)} ; il doit être compris entre {lo} % et {hi} %, "
        f"soit entre {eur(floor_cents)} et {eur(ceiling_cents)}."
    )


def document(d: Dossier, call: CallConfig) -> str | None:
    if d.document is None:
        return "Aucun document descriptif n'est joint au dossier."
    required = list(call.eligibility.required_sections)
    if d.software.involved:
        required.append(call.eligibility.software_section)
    missing = [s for s in required if s not in d.document.sections]
    if not missing:
        return None
    names = ", ".join(f"« {SECTION_LABELS.get(s, s)} »" for s in missing)
    why = " (le projet déploie une solution logicielle)" if call.eligibility.software_section in missing else ""
    return (
        f"Le document descriptif « {d.document.filename} » ne contient pas la ou les parties requises : {names}{why}."
    )


RULES: dict[str, Rule] = {
    "APPLICANT_KIND": applicant_kind,
    "APPLICANT_TERRITORY": applicant_territory,
    "JOINT_CONTACT": joint_contact,
    "JOINT_COMMITMENT": joint_commitment,
    "THEME": theme,
    "OPERATING_BUDGET": operating_budget,
    "COST_RANGE": cost_range,
    "FINANCING_PLAN": financing_plan,
    "FUNDING_RATE": funding_rate,
    "DOCUMENT": document,
}


def assess(dossier: Dossier, call: CallConfig) -> list[RuleFailure]:
    """Every failing rule, one failure per code, in the SPEC's order."""
    failures = []
    for code, rule in RULES.items():
        message = rule(dossier, call)
        if message is not None:
            failures.append(RuleFailure(code=code, message=message))
    return failures
