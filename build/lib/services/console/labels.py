"""French labels for what the pages show (SPEC §9 statuses, decisions, criteria, notifications)."""

from __future__ import annotations

STATUS_LABELS: dict[str, str] = {
    "submitted": "Déposé, éligibilité à examiner",
    "withdrawn": "Retiré",
    "ineligible": "Inéligible",
    "eligible": "Éligible, en attente du comité",
    "deferred": "Ajourné",
    "rejected": "Non retenu",
    "selected": "Retenu, crédits réservés",
    "selection_unfunded": "Retenu, réservation refusée",
    "committed": "Crédits engagés",
    "lapsed": "Réservation caduque",
}
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
TRACKS = {"standard": "Parcours standard", "innovation_lab": "Laboratoire d'innovation territoriale"}
RESERVATION_STATUS = {"reserved": "Réservé", "committed": "Engagé", "lapsed": "Caduc", "refused": "Refusé"}
NOTIFICATION_KINDS = {"individual": "Individuelle (lauréat)", "collective": "Collective (non retenus)"}
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
EXPENSE_CATEGORIES = {
    "service": "Prestation de service",
    "study": "Étude",
    "training": "Formation",
    "software": "Logiciel",
    "other": "Autre",
    "staff": "Frais de personnel",
    "it_equipment": "Matériel informatique",
}
APPLICANT_KINDS = {
    "commune": "Commune",
    "epci": "EPCI",
    "metropole": "Métropole",
    "departement": "Département",
    "region": "Région",
}
SECTIONS = {"situation": "situation", "method": "méthode", "roadmap": "feuille de route", "solution": "solution"}
