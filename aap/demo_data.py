"""Fictitious but realistic material for `aap demo`: collectivités of the five départements,
project titles per sub-theme, contacts, and dossiers built from them with a seeded generator
(same seed, same dossiers: SIRENs with a valid Luhn checksum, balanced financing plans).

Names of communes and groupings are invented; the SIRENs are synthetic. `build(call)` turns
them into the demonstration's scenario document (tests/scenarios/FORMAT.md), with the answer
expected at each step; its dates are placed relative to the call's window, relevés and deadline."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

SEED = 2021


@dataclass(frozen=True)
class Body:
    """A collectivité (or another structure) that may file a dossier."""

    name: str
    kind: str
    departement: str


BODIES = {
    "vervins": Body("Commune de Sainte-Aure-en-Thiérache", "commune", "02"),
    "serre": Body("Communauté de communes du Val de Serre", "epci", "02"),
    "aisne": Body("Département de l'Aisne", "departement", "02"),
    "valmont": Body("Commune de Valmont-sur-Escaut", "commune", "59"),
    "hautmesnil": Body("Commune de Hautmesnil-lez-Lannoy", "commune", "59"),
    "sambre": Body("Communauté d'agglomération du Val de Sambre", "epci", "59"),
    "metropole": Body("Métropole Escaut-Lys", "metropole", "59"),
    "nord": Body("Département du Nord", "departement", "59"),
    "brevannes": Body("Commune de Brévannes-sur-Thérain", "commune", "60"),
    "forets": Body("Communauté de communes des Trois Forêts", "epci", "60"),
    "oise": Body("Département de l'Oise", "departement", "60"),
    "fresnoy": Body("Commune de Fresnoy-en-Artois", "commune", "62"),
    "opale": Body("Communauté d'agglomération de la Côte d'Opale Sud", "epci", "62"),
    "pas-de-calais": Body("Département du Pas-de-Calais", "departement", "62"),
    "rivery": Body("Commune de Rivery-sur-Somme", "commune", "80"),
    "vimeu": Body("Communauté de communes Somme et Vimeu", "epci", "80"),
    "somme": Body("Département de la Somme", "departement", "80"),
    "region": Body("Région Hauts-de-France", "region", "59"),
    # not eligible as applicants: another kind of structure, another region
    "association": Body("Association Numérique Solidaire du Cambrésis", "association", "59"),
    "bresle": Body("Commune de Neuville-sur-Bresle", "commune", "76"),
}

FIRST_NAMES = (
    "Camille",
    "Julien",
    "Sophie",
    "Thomas",
    "Nathalie",
    "Mathieu",
    "Isabelle",
    "Nicolas",
    "Claire",
    "Sébastien",
    "Aurélie",
    "Guillaume",
    "Émilie",
    "François",
    "Céline",
    "Olivier",
)
LAST_NAMES = (
    "Lefebvre",
    "Dubois",
    "Martin",
    "Leroy",
    "Dupont",
    "Lemaire",
    "Caron",
    "Delattre",
    "Vasseur",
    "Lecomte",
    "Dumont",
    "Deprez",
    "Wattel",
    "Boulanger",
    "Carpentier",
    "Hennebert",
)

EXPENSE_LABELS = {
    "service": "Prestation de développement et de paramétrage",
    "study": "Étude préalable et diagnostic",
    "training": "Formation et accompagnement des agents",
    "software": "Licences et abonnements (trois ans)",
    "other": "Communication auprès des usagers",
    "staff": "Recrutement d'un chef de projet numérique",
    "it_equipment": "Achat de postes informatiques",
}


def luhn_complete(digits: str) -> str:
    """Appends the check digit that makes `digits` + it pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these positions are odd once the check digit is appended
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return digits + str((10 - total % 10) % 10)


def siren_for(body: Body, rng: random.Random) -> str:
    """Shaped like the real ones: communes 21 + département, départements 22, groupings 200/24."""
    prefix = {
        "commune": "21" + body.departement,
        "departement": "22" + body.departement,
        "epci": "24" + body.departement,
        "metropole": "24" + body.departement,
        "region": "200",
    }.get(body.kind, "77")
    return luhn_complete(prefix + "".join(str(rng.randrange(10)) for _ in range(8 - len(prefix))))


def slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(c if c.isalnum() else " " for c in plain).split())


SHORT_NAMES = (
    ("commune-de-", "mairie-"),
    ("communaute-d-agglomeration-", "agglo-"),
    ("communaute-de-communes-", "cc-"),
    ("departement-de-la-", "departement-"),
    ("departement-de-l-", "departement-"),
    ("departement-du-", "departement-"),
)


def mail_domain(body: Body) -> str:
    """mairie-valmont-sur-escaut.example, agglo-du-val-de-sambre.example… (a reserved TLD)."""
    name = slug(body.name)
    for long, short in SHORT_NAMES:
        if name.startswith(long):
            name = short + name[len(long) :]
            break
    return name + ".example"


class Generator:
    """Builds the dossiers' JSON; one instance per demo so that the same seed gives the same call."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.sirens = {key: siren_for(body, self.rng) for key, body in BODIES.items()}

    def contact(self, key: str) -> dict:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        domain = mail_domain(BODIES[key])
        return {
            "name": f"{first} {last}",
            "email": f"{slug(first)}.{slug(last)}@{domain}",
            "phone": f"03 2{self.rng.randrange(10)} {self.rng.randrange(10, 99)} "
            f"{self.rng.randrange(10, 99)} {self.rng.randrange(10, 99)}",
        }

    def applicant(self, key: str, lead: bool = True) -> dict:
        body = BODIES[key]
        return {
            "name": body.name,
            "siren": self.sirens[key],
            "siret": luhn_complete(self.sirens[key] + "0001"),  # the seat's establishment (NIC 0001x)
            "kind": body.kind,
            "departement": body.departement,
            "operational_contact": lead,
            "validated": True,
            "resources_committed": True,
            "contact": self.contact(key),
        }

    def dossier(
        self,
        title: str,
        theme: str,
        bodies: list[str],
        *,
        cost_euros: int,
        rate: int,
        other_percent: int = 0,
        categories: tuple[str, ...] = ("service", "training"),
        software: bool = True,
        sections: tuple[str, ...] | None = None,
    ) -> dict:
        """A dossier asking `rate` % of a `cost_euros` project; the rest split between the
        applicants' own funds and `other_percent` % from other funders."""
        cost = cost_euros * 100
        requested = cost * rate // 100
        other = min(cost - requested, cost * other_percent // 100)
        shares = [self.rng.randrange(2, 6) for _ in categories]
        amounts = [cost * s // sum(shares) // 100 * 100 for s in shares]
        amounts[0] += cost - sum(amounts)
        if sections is None:
            sections = ("situation", "method", "roadmap") + (("solution",) if software else ())
        track = "innovation_lab" if theme.startswith("4") else "standard"
        return {
            "track": track,
            "title": title,
            "theme": theme,
            "summary": f"{title} : projet porté par {BODIES[bodies[0]].name} au titre de l'ITN 7 axe 3.",
            "applicants": [self.applicant(key, lead=i == 0) for i, key in enumerate(bodies)],
            "financing": {
                "global_cost_cents": cost,
                "requested_cents": requested,
                "own_funding_cents": cost - requested - other,
                "other_funding_cents": other,
            },
            "expenses": [
                {"label": EXPENSE_LABELS[c], "category": c, "amount_cents": a} for c, a in zip(categories, amounts)
            ],
            "software": {"involved": software, "free_software": software and self.rng.random() < 0.6},
            "document": {"filename": f"{slug(title)[:40]}.pdf", "sections": list(sections)},
        }

    def scores(self, quality: int, software: bool) -> dict:
        """A member's scores (0-3) around a dossier's quality (0 weak, 1 fair, 2 good)."""

        def score() -> int:
            return max(0, min(3, quality + self.rng.choice((0, 0, 1, -1)) + (quality > 0)))

        return {
            "diagnosis": score(),
            "co_construction": score(),
            "roadmap": score(),
            "free_software": score() if software else None,
        }


@dataclass(frozen=True)
class Project:
    """One dossier of the demonstration and what becomes of it.

    fate: select | reject | lapse (selected, never committed) | defer-select | defer-reject
    (deferred by the first committee, decided by the second) | ineligible | withdraw |
    amend (filed with an unbalanced financing plan, corrected before the relevé, then selected)."""

    ref: str
    session: int
    title: str
    theme: str
    bodies: tuple[str, ...]
    cost: int  # euros
    rate: int  # percent of the cost asked of the call
    fate: str = "select"
    other: int = 0  # percent of the cost from other funders
    categories: tuple[str, ...] = ("service", "training")
    software: bool = True
    sections: tuple[str, ...] | None = None
    grant: int | None = None  # euros, when the committee grants less than asked
    motivation: str = ""


P = Project
PROJECTS: tuple[Project, ...] = (
    P(
        "ETAT-CIVIL",
        1,
        "Dématérialisation de l'état civil et des actes administratifs",
        "1.3",
        ("vervins",),
        48_000,
        80,
    ),
    P(
        "GRC-METROPOLE",
        1,
        "Gestion de la relation usagers multicanal",
        "3.3",
        ("metropole",),
        92_000,
        60,
        other=20,
        categories=("service", "software", "training"),
    ),
    P("URBANISME", 1, "Dématérialisation des autorisations d'urbanisme", "1.3", ("sambre", "hautmesnil"), 78_000, 70),
    P(
        "PIX-AISNE",
        1,
        "Certification Pix des agents départementaux",
        "2.1",
        ("aisne",),
        36_000,
        100,
        categories=("training",),
        software=False,
    ),
    P(
        "DONNEES-SOCIALES",
        1,
        "Observatoire des données sociales du Département",
        "1.1",
        ("nord",),
        88_000,
        50,
        fate="lapse",
        other=25,
        categories=("service", "study", "software"),
    ),
    P(
        "OUTILS-COLLABORATIFS",
        1,
        "Formation des agents aux outils collaboratifs",
        "2.2",
        ("forets",),
        32_000,
        80,
        fate="reject",
        categories=("training", "other"),
        software=False,
        motivation="Le projet n'est pas relié à une feuille de route numérique de la collectivité.",
    ),
    P(
        "PORTAIL-FAMILLE",
        1,
        "Portail famille : inscriptions scolaires et périscolaires en ligne",
        "3.4",
        ("brevannes",),
        42_000,
        100,
        fate="defer-select",
    ),
    P(
        "LABO-ACCUEIL",
        1,
        "Laboratoire d'innovation : repenser l'accueil en mairie",
        "4.1",
        ("opale",),
        65_000,
        80,
        categories=("service", "study"),
    ),
    P(
        "SIG-PARTAGE",
        1,
        "Étude d'opportunité d'un système d'information géographique partagé",
        "1.4",
        ("pas-de-calais",),
        40_000,
        50,
        fate="defer-reject",
        categories=("study",),
        software=False,
        motivation="L'étude recoupe le projet régional de plateforme géographique déjà financé.",
    ),
    P(
        "RENDEZ-VOUS",
        1,
        "Prise de rendez-vous en ligne pour les services municipaux",
        "3.3",
        ("rivery",),
        28_000,
        90,
        grant=22_400,
    ),
    P(
        "CHAINE-COMPTABLE",
        1,
        "Dématérialisation de la chaîne comptable et des factures",
        "1.3",
        ("vimeu",),
        55_000,
        80,
        fate="amend",
    ),
    P("SITE-INTERNET", 1, "Refonte du site internet communal", "1.2", ("fresnoy",), 35_000, 70, fate="withdraw"),
    P(
        "MEDIATION",
        1,
        "Médiation numérique pour les habitants du Cambrésis",
        "3.4",
        ("association",),
        40_000,
        80,
        fate="ineligible",
    ),
    P(
        "DIAGNOSTIC-VALMONT",
        1,
        "Diagnostic de maturité numérique des services municipaux",
        "2.4",
        ("valmont",),
        18_000,
        100,
        fate="ineligible",
        categories=("study",),
        software=False,
    ),
    P(
        "OPEN-DATA-TRANSPORTS",
        1,
        "Ouverture des données publiques régionales des transports",
        "3.1",
        ("region",),
        85_000,
        60,
        categories=("service", "software"),
    ),
    P(
        "INCLUSION-AGENTS",
        2,
        "Accompagnement des agents éloignés du numérique",
        "2.3",
        ("somme",),
        45_000,
        100,
        categories=("training", "other"),
        software=False,
    ),
    P(
        "DEMARCHES-EN-LIGNE",
        2,
        "Plateforme unique des démarches en ligne",
        "3.2",
        ("oise",),
        97_000,
        50,
        other=30,
        categories=("service", "software", "training"),
    ),
    P("SIGNALEMENT-VOIRIE", 2, "Application de signalement des incidents de voirie", "1.2", ("valmont",), 38_000, 75),
    P(
        "TRANSPORT-A-LA-DEMANDE",
        2,
        "Co-conception d'un transport à la demande avec les habitants",
        "4.2",
        ("serre",),
        70_000,
        80,
        categories=("service", "study"),
    ),
    P(
        "ENERGIE-BATIMENTS",
        2,
        "Tableau de bord des consommations énergétiques des bâtiments",
        "1.1",
        ("hautmesnil",),
        30_000,
        60,
        fate="reject",
        motivation="Le diagnostic est trop succinct pour apprécier les gains attendus.",
    ),
    P("PAIEMENT-EN-LIGNE", 2, "Paiement en ligne des services publics locaux", "3.4", ("fresnoy",), 26_000, 100),
    P("PARAPHEUR", 2, "Parapheur électronique et gestion des courriers", "1.3", ("sambre",), 60_000, 70),
    P(
        "ACCULTURATION",
        2,
        "Ateliers d'acculturation à l'innovation publique",
        "4.3",
        ("nord",),
        34_000,
        100,
        categories=("training", "study"),
        software=False,
    ),
    P(
        "GUICHET-BRESLE",
        2,
        "Guichet numérique des services communaux",
        "3.2",
        ("bresle",),
        44_000,
        80,
        fate="ineligible",
    ),
    P(
        "ECOLES-NUMERIQUES",
        2,
        "Équipement numérique des écoles et chef de projet",
        "1.2",
        ("brevannes",),
        60_000,
        70,
        fate="ineligible",
        categories=("it_equipment", "staff", "service"),
    ),
    P(
        "APPLI-MOBILE",
        2,
        "Application mobile des services intercommunaux",
        "3.3",
        ("vimeu",),
        52_000,
        70,
        fate="ineligible",
        sections=("situation", "method", "solution"),
    ),
    P(
        "MATURITE-AISNE",
        2,
        "Diagnostic de maturité numérique des services départementaux",
        "2.4",
        ("aisne",),
        27_000,
        100,
        categories=("study",),
        software=False,
    ),
    P(
        "PARCOURS-USAGERS",
        2,
        "Étude des parcours numériques des usagers",
        "3.5",
        ("metropole",),
        45_000,
        50,
        fate="reject",
        other=20,
        categories=("study",),
        software=False,
        motivation="Le comité privilégie les projets de mise en œuvre plutôt que les études seules.",
    ),
    P(
        "MODE-PROJET",
        2,
        "Parcours de formation au travail en mode projet",
        "2.2",
        ("region",),
        50_000,
        80,
        categories=("training", "service"),
        software=False,
    ),
)
LATE = P("TARDIF", 2, "Numérisation des archives municipales", "1.3", ("rivery",), 50_000, 80)
SELECTED = ("select", "lapse", "amend", "defer-select")


class Story:
    """Collects the steps of the demonstration with their instants and expected answers."""

    def __init__(self, call, seed: int = SEED) -> None:
        self.call, self.gen = call, Generator(seed)
        self.steps: list[tuple[datetime, int, dict, str | None]] = []
        self.dossiers: dict[str, dict] = {}

    def at(self, day: datetime, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day.date(), time(hour, minute), tzinfo=self.call.tz)

    def add(self, when: datetime, step: dict, refused: str | None = None) -> None:
        self.steps.append((when, len(self.steps), {"at": when.isoformat(), **step}, refused))

    def dossier(self, p: Project) -> dict:
        if p.ref not in self.dossiers:
            self.dossiers[p.ref] = self.gen.dossier(
                p.title,
                p.theme,
                list(p.bodies),
                cost_euros=p.cost,
                rate=p.rate,
                other_percent=p.other,
                categories=p.categories,
                software=p.software,
                sections=p.sections,
            )
        return self.dossiers[p.ref]

    def scenario(self) -> dict[str, Any]:
        ordered = sorted(self.steps, key=lambda s: (s[0], s[1]))
        expect = [
            {"index": i, "ok": True} if code is None else {"index": i, "ok": False, "error": code}
            for i, (*_, code) in enumerate(ordered)
        ]
        return {
            "name": "demo",
            "call": self.call.id,
            "description": "Démonstration générée par aap demo",
            "steps": [s for _, _, s, _ in ordered],
            "expect": {"steps": expect},
        }


def spread(first: datetime, last: datetime, count: int) -> list[datetime]:
    step = (last - first) / max(1, count - 1)
    return [first + step * i for i in range(count)]


def build(call, seed: int = SEED) -> tuple[dict[str, Any], dict[str, dict]]:
    """The demonstration as a scenario document, and the dossiers it files (by ref)."""
    if len(call.sessions) != 2:
        raise ValueError("la démonstration suppose un appel en deux sessions")
    story = Story(call, seed)
    cut1, cut2 = (s.cutoff for s in call.sessions)
    _submissions(story, call.window.opens + timedelta(days=1), cut1 - timedelta(days=3), 1)
    _submissions(story, cut1 + timedelta(days=3), cut2 - timedelta(days=1), 2)
    story.add(
        story.at(call.window.closes + timedelta(days=1), 10),
        {"action": "submit", "ref": LATE.ref, "dossier": story.dossier(LATE)},
        "WINDOW",
    )
    portal = next(p for p in PROJECTS if p.ref == "PORTAIL-FAMILLE")
    changed = {**story.dossier(portal), "summary": "Portail famille, étendu à la restauration scolaire."}
    story.add(
        story.at(cut1 + timedelta(days=2), 10), {"action": "amend", "ref": portal.ref, "dossier": changed}, "LOCKED"
    )
    _committee(story, 1, story.at(cut1 + timedelta(days=13), 9))
    _committee(story, 2, story.at(cut2 + timedelta(days=8), 9))
    _commitments(story, story.at(cut2 + timedelta(days=70), 10), call.budget.commitment_deadline)
    return story.scenario(), story.dossiers


def _submissions(story: Story, first: datetime, last: datetime, session: int) -> None:
    projects = [p for p in PROJECTS if p.session == session]
    for i, (p, day) in enumerate(zip(projects, spread(first, last, len(projects)))):
        when = story.at(day, 9 + i % 8, 15 * (i % 4))
        dossier = story.dossier(p)
        if p.fate == "amend":  # filed with a financing plan that does not add up, corrected two days later
            wrong = {**dossier["financing"], "own_funding_cents": dossier["financing"]["own_funding_cents"] + 500_000}
            story.add(when, {"action": "submit", "ref": p.ref, "dossier": {**dossier, "financing": wrong}})
            story.add(when + timedelta(days=2), {"action": "amend", "ref": p.ref, "dossier": dossier})
        else:
            story.add(when, {"action": "submit", "ref": p.ref, "dossier": dossier})
        if p.fate == "withdraw":
            story.add(
                when + timedelta(days=3),
                {"action": "withdraw", "ref": p.ref, "reason": "Projet reporté : le budget communal n'est pas voté."},
            )


def _on_agenda(session: int) -> list[Project]:
    mine = [p for p in PROJECTS if p.session == session and p.fate not in ("ineligible", "withdraw")]
    deferred = [p for p in PROJECTS if session == 2 and p.fate.startswith("defer")]
    return mine + deferred


def _committee(story: Story, n: int, start: datetime) -> None:
    members = story.call.committee.members
    regional = [m.id for m in members if m.role == "regional"] or [m.id for m in members]
    local_of = {m.departement: m.id for m in members if m.departement}
    when = start
    agenda = _on_agenda(n)
    for i, p in enumerate(agenda):
        quality = {"reject": 0, "defer-reject": 0 if n == 2 else 1, "defer-select": 1 if n == 1 else 2}.get(p.fate, 2)
        local = local_of.get(story.dossier(p)["applicants"][0]["departement"], regional[-1])
        reviewers = [local, regional[i % len(regional)]]
        if i % 2 == 0:
            reviewers.append(regional[(i + 1) % len(regional)])
        for member in reviewers:
            when += timedelta(minutes=2)
            story.add(
                when,
                {
                    "action": "review",
                    "session": n,
                    "ref": p.ref,
                    "member": member,
                    "scores": story.gen.scores(quality, p.software),
                },
            )
    when = start.replace(hour=10, minute=30)
    decide = lambda p, d, code=None, **kw: story.add(  # noqa: E731
        when, {"action": "decide", "session": n, "ref": p.ref, "decision": d, **kw}, code
    )
    tried_deferral = False
    if n == 1:
        stray = next(p for p in PROJECTS if p.fate == "ineligible")
        decide(stray, "select", "NOT_ON_AGENDA", granted_cents=story.dossier(stray)["financing"]["requested_cents"])
    for i, p in enumerate(agenda):
        when += timedelta(minutes=3)
        requested = story.dossier(p)["financing"]["requested_cents"]
        fate = p.fate.split("-")[1] if n == 2 and p.fate.startswith("defer") else p.fate
        if p.grant:  # the committee first tries to round the grant up: above the request
            decide(p, "select", "GRANT_RANGE", granted_cents=requested + 280_000)
        if fate.startswith("defer"):
            decide(p, "defer")
        elif fate in SELECTED:
            decide(p, "select", granted_cents=(p.grant or 0) * 100 or requested)
        else:
            if n == len(story.call.sessions) and not tried_deferral:  # no deferral at the last session
                tried_deferral = True
                decide(p, "defer", "LAST_SESSION")
            decide(p, "reject", motivation=p.motivation)
        if i == len(agenda) - 3:
            story.add(when + timedelta(minutes=1), {"action": "close_session", "session": n}, "OPEN_ITEMS")
    story.add(when + timedelta(minutes=30), {"action": "close_session", "session": n})


def _commitments(story: Story, first: datetime, deadline: datetime) -> None:
    funded = [p for p in PROJECTS if p.fate in ("select", "amend", "defer-select")]
    rng = story.gen.rng
    for p, day in zip(funded, spread(first, deadline - timedelta(days=14), len(funded))):
        story.add(
            story.at(day, 10),
            {"action": "commit", "ref": p.ref, "legal_reference": f"Chorus EJ {2103000000 + rng.randrange(10**6)}"},
        )
    rejected = next(p for p in PROJECTS if p.fate == "reject")
    story.add(
        story.at(first, 11),
        {"action": "commit", "ref": rejected.ref, "legal_reference": "Chorus EJ 2103999999"},
        "NOT_SELECTED",
    )
    late = next(p for p in PROJECTS if p.fate == "lapse")
    story.add(
        story.at(deadline + timedelta(days=3), 9),
        {"action": "commit", "ref": late.ref, "legal_reference": "Chorus EJ 2200000101"},
        "COMMITMENT_DEADLINE",
    )
