"""The French words for every code a person reads: kinds of structure, expense categories,
document sections, départements (with their names), statuses' counts. Pure data and helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

KIND_LABELS: dict[str, str] = {
    "commune": "commune",
    "epci": "établissement public de coopération intercommunale (EPCI)",
    "metropole": "métropole",
    "departement": "département",
    "region": "région",
    "association": "association",
    "entreprise": "entreprise",
    "etat": "service de l'État",
}
CATEGORY_LABELS: dict[str, str] = {
    "service": "prestations externes et développement",
    "study": "diagnostic ou étude",
    "training": "formation",
    "software": "licences et abonnements",
    "other": "autres dépenses",
    "staff": "dépenses de personnel, une dépense de fonctionnement",
    "it_equipment": "achat d'équipements informatiques, une dépense d'investissement",
}
SECTION_LABELS: dict[str, str] = {
    "situation": "situation existante, besoins et objectifs",
    "method": "démarche participative, calendrier et pilotage",
    "roadmap": "place dans la feuille de route numérique",
    "solution": "pourquoi cette solution numérique",
}
TRACK_LABELS: dict[str, str] = {
    "standard": "démarche standard",
    "innovation_lab": "démarche avec un laboratoire d'innovation territoriale",
}
CRITERIA_LABELS: dict[str, str] = {
    "diagnosis": "diagnostic",
    "co_construction": "co-construction",
    "roadmap": "feuille de route",
    "free_software": "logiciel libre",
}
# Every département, so that a dossier from outside the call's territory is named too.
DEPARTEMENTS: dict[str, str] = {
    "01": "Ain", "02": "Aisne", "03": "Allier", "04": "Alpes-de-Haute-Provence", "05": "Hautes-Alpes",
    "06": "Alpes-Maritimes", "07": "Ardèche", "08": "Ardennes", "09": "Ariège", "10": "Aube", "11": "Aude",
    "12": "Aveyron", "13": "Bouches-du-Rhône", "14": "Calvados", "15": "Cantal", "16": "Charente",
    "17": "Charente-Maritime", "18": "Cher", "19": "Corrèze", "2A": "Corse-du-Sud", "2B": "Haute-Corse",
    "21": "Côte-d'Or", "22": "Côtes-d'Armor", "23": "Creuse", "24": "Dordogne", "25": "Doubs", "26": "Drôme",
    "27": "Eure", "28": "Eure-et-Loir", "29": "Finistère", "30": "Gard", "31": "Haute-Garonne", "32": "Gers",
    "33": "Gironde", "34": "Hérault", "35": "Ille-et-Vilaine", "36": "Indre", "37": "Indre-et-Loire",
    "38": "Isère", "39": "Jura", "40": "Landes", "41": "Loir-et-Cher", "42": "Loire", "43": "Haute-Loire",
    "44": "Loire-Atlantique", "45": "Loiret", "46": "Lot", "47": "Lot-et-Garonne", "48": "Lozère",
    "49": "Maine-et-Loire", "50": "Manche", "51": "Marne", "52": "Haute-Marne", "53": "Mayenne",
    "54": "Meurthe-et-Moselle", "55": "Meuse", "56": "Morbihan", "57": "Moselle", "58": "Nièvre", "59": "Nord",
    "60": "Oise", "61": "Orne", "62": "Pas-de-Calais", "63": "Puy-de-Dôme", "64": "Pyrénées-Atlantiques",
    "65": "Hautes-Pyrénées", "66": "Pyrénées-Orientales", "67": "Bas-Rhin", "68": "Haut-Rhin", "69": "Rhône",
    "70": "Haute-Saône", "71": "Saône-et-Loire", "72": "Sarthe", "73": "Savoie", "74": "Haute-Savoie",
    "75": "Paris", "76": "Seine-Maritime", "77": "Seine-et-Marne", "78": "Yvelines", "79": "Deux-Sèvres",
    "80": "Somme", "81": "Tarn", "82": "Tarn-et-Garonne", "83": "Var", "84": "Vaucluse", "85": "Vendée",
    "86": "Vienne", "87": "Haute-Vienne", "88": "Vosges", "89": "Yonne", "90": "Territoire de Belfort",
    "91": "Essonne", "92": "Hauts-de-Seine", "93": "Seine-Saint-Denis", "94": "Val-de-Marne", "95": "Val-d'Oise",
    "971": "Guadeloupe", "972": "Martinique", "973": "Guyane", "974": "La Réunion", "976": "Mayotte",
}  # fmt: skip


def kind_label(code: str) -> str:
    return KIND_LABELS.get(code, code)


def departement_label(code: str, known: Mapping[str, str] | None = None) -> str:
    """'Seine-Maritime (76)'; an unknown code as it is."""
    name = (known or {}).get(code) or DEPARTEMENTS.get(code)
    return f"{name} ({code})" if name else code


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 dossier retenu', '2 dossiers retenus', '0 dossier' (French: 0 and 1 take the singular)."""
    return f"{n} {one if abs(n) < 2 else (many or one + 's')}"


def french_list(items: Iterable[str]) -> str:
    """'a', 'a et b', 'a, b et c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1] if items else ""
