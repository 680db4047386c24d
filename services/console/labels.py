"""French labels for what the pages show (SPEC §9 statuses, decisions, criteria, notifications)."""

from __future__ import annotations

from aap_contract import labels as vocabulary
from aap_contract import lifecycle


def _capital(labels: dict[str, str]) -> dict[str, str]:
    return {code: text[:1].upper() + text[1:] for code, text in labels.items()}


# The contract's vocabulary (aap_contract.labels, aap_contract.lifecycle), as a page's label starts.
STATUS_LABELS = _capital(lifecycle.STATUS_LABELS_ONE)
APPLICANT_KINDS = _capital(vocabulary.KIND_LABELS)
EXPENSE_CATEGORIES = _capital(vocabulary.CATEGORY_LABELS)
SECTIONS = vocabulary.SECTION_LABELS
TRACKS = _capital(vocabulary.TRACK_LABELS)
STATUS_CLASSES: dict[str, str] = {
    "submitted": "fr-badge--new",
    "withdrawn": "",
    "ineligible": "fr-badge--error",
    "eligible": "fr-badge--info",
    "deferred": "fr-badge--warning",
    "rejected": "fr-badge--error",
    "selected": "fr-badge--success",
    "selection_unfunded": "fr-badge--warning",
    "committed": "fr-badge--success",
    "lapsed": "",
}
DECISION_LABELS = {"select": "Retenu", "reject": "Non retenu", "defer": "Ajourné"}
SESSION_STATUS = {"upcoming": "À venir (relevé non atteint)", "open": "Ouverte", "closed": "Close"}
CRITERIA = {
    "diagnosis": "Diagnostic factuel et partagé",
    "co_construction": "Démarche de co-construction",
    "roadmap": "Inscription dans une feuille de route",
    "free_software": "Logiciel libre",
}
RESERVATION_STATUS = {"reserved": "Réservé", "committed": "Engagé", "lapsed": "Caduc", "refused": "Refusé"}
NOTIFICATION_KINDS = {
    "individual": "Individuelle (lauréat)",
    "collective": "Collective (non retenus)",
    "lapse": "Caducité (crédits annulés)",
}
RULES = {
    "APPLICANT_KIND": "Nature du porteur",
    "APPLICANT_TERRITORY": "Territoire du porteur",
    "JOINT_CONTACT": "Contact opérationnel unique",
    "JOINT_COMMITMENT": "Engagement de chaque co-porteur",
    "THEME": "Thématique de l'appel",
    "OPERATING_BUDGET": "Dépenses de fonctionnement exclues",
    "COST_RANGE": "Coût global dans les bornes",
    "FINANCING_PLAN": "Plan de financement équilibré",
    "FUNDING_RATE": "Taux d'aide demandé",
    "DOCUMENT": "Document descriptif complet",
}
SORTS = {
    "submitted_at": "Date de dépôt",
    "title": "Titre",
    "status": "Statut",
    "requested": "Montant demandé",
    "departement": "Département",
}
