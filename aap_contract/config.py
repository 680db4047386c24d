"""The call configuration: every number, date and list of one call, loaded from TOML.

A call is data: another region or year is a new file, never new code.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from aap_contract.dossier import siren_is_valid, siret_is_valid

CALLS_DIR_ENV = "AAP_CALLS_DIR"
DEFAULT_CALL = "hdf-itn7-axe3-2021"


class ConfigError(Exception):
    """A call configuration that cannot be used, with the reason."""


class Window(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    opens: datetime
    closes: datetime


class Session(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    number: int
    cutoff: datetime


class Budget(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    envelope_cents: int
    commitment_deadline: datetime


class Eligibility(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    applicant_kinds: list[str]
    cost_min_exclusive_cents: int
    cost_max_exclusive_cents: int
    rate_min_percent: int
    rate_max_percent: int
    excluded_expense_categories: list[str]
    required_sections: list[str]
    software_section: str


class Member(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str
    role: str
    departement: str | None = None


class Committee(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    criteria: list[str]
    members: list[Member]


class Notifications(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    delay_days: int
    templates_dir: str | None = None
    # The collective letter names, for each dossier not retained, its structures' SIRENs and the
    # reasons: every recipient would read the others'. Off unless the call asks for it.
    collective_details: bool = False
    # Voies et délais de recours, printed in every refusal and lapse letter.
    appeal_court: str = "le tribunal administratif territorialement compétent"


class Publication(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The SCDL « subventions » file: what the call's decisions state about payment."""

    payment_conditions: str = "unique"  # conditionsVersement: unique, échelonné, or a free text
    payment_period: str | None = None  # datesPeriodeVersement: AAAA-MM-JJ or AAAA-MM-JJ/AAAA-MM-JJ
    dispositif_aide: str = ""  # dispositifAide: the aid scheme's id (schéma des dispositifs d'aide)
    csv_bom: bool = False  # UTF-8 with a byte-order mark by default (Excel reads the accents)


class Privacy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long the contacts' personal data is kept after the call's end (its commitment
    deadline), before their keys are destroyed (docs/PERSONAL_DATA.md)."""

    retention_years_after_end: int = 5


class Documents(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the official documents of a decision state beyond the log (all optional)."""

    signatory: str = "Le préfet de région"
    visas: list[str] = []  # the texts the arrêté is taken on, one "Vu …" each
    start_months: int = 12  # délai de commencement de l'opération, from the notification
    completion_months: int = 36  # the operation must be completed within, else the grant lapses
    payment: str = (
        "La subvention est versée sur production des justificatifs des dépenses réalisées : "
        "une avance de 30 % peut être versée au commencement de l'opération, le solde à son achèvement."
    )


AGENT_ROLES = ("instructor", "committee_member", "budget_officer", "auditor", "admin")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConsoleUser(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One agent of the console: who signs in (by e-mail, as the OpenID provider gives it) and
    with which role (and committee member id for a committee member)."""

    email: str
    name: str
    role: str
    member_id: str | None = None


class Console(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    users: list[ConsoleUser] = msgspec.field(default_factory=list)


DN_API_URL = "https://demarche.numerique.gouv.fr/api/v2/graphql"
# The dossier's fields a démarche's champs must give (descriptor ids in [connector.demarches.<track>.champs]).
REQUIRED_CHAMPS = (
    "applicant_name",
    "applicant_kind",
    "applicant_departement",
    "contact_name",
    "contact_email",
    "validated",
    "resources_committed",
    "title",
    "summary",
    "theme",
    "software_involved",
    "global_cost",
    "requested",
    "expenses",
    "expense_label",
    "expense_category",
    "expense_amount",
    "resources",
    "resource_kind",
    "resource_amount",
    "document",
    "document_sections",
)
OPTIONAL_CHAMPS = (
    "contact_phone",
    "free_software",
    "joint",
    "joint_establishment",
    "joint_kind",
    "joint_contact_name",
    "joint_contact_email",
    "joint_validated",
    "joint_resources_committed",
)
ANNOTATIONS = ("eligibility", "mean_score")


class DemarcheLink(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One DN démarche feeding one track: its number and where each dossier field comes from."""

    number: int
    champs: dict[str, str]
    annotations: dict[str, str] = {}  # eligibility (textarea), mean_score (decimal number)
    instructeur_id: str | None = None  # overrides [connector].instructeur_id


class Connector(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """[connector]: the call's dossiers come from Démarche Numérique (services/connector)."""

    instructeur_id: str
    updated_since: datetime  # the fixed `updatedSince` of DN's incremental sync
    demarches: dict[str, DemarcheLink]
    kinds: dict[str, str]  # DN option label -> applicant kind
    expense_categories: dict[str, str]  # DN option label -> expense category
    sections: dict[str, str]  # DN option label -> document section
    resources: dict[str, str]  # DN option label -> "own" | "other"
    api_url: str = DN_API_URL
    poll_interval_seconds: int = 300
    notifications: str = "aap"  # whose e-mails reach applicants: "aap" (DN's are disabled) or "dn"
    requests_per_minute: int = 400
    concurrent_downloads: int = 4

    @property
    def disable_notification(self) -> bool:
        return self.notifications == "aap"

    def track_of(self, number: int) -> str | None:
        return next((t for t, d in self.demarches.items() if d.number == number), None)


class CallInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    title: str
    region: str
    timezone: str
    attributor_name: str
    attributor_id: str
    sender_email: str


class CallConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    call: CallInfo
    window: Window
    sessions: list[Session]
    budget: Budget
    eligibility: Eligibility
    departements: dict[str, str]
    tracks: dict[str, list[str]]
    themes: dict[str, str]
    committee: Committee
    notifications: Notifications
    console: Console = msgspec.field(default_factory=Console)
    publication: Publication = msgspec.field(default_factory=Publication)
    privacy: Privacy = msgspec.field(default_factory=Privacy)
    documents: Documents = msgspec.field(default_factory=Documents)
    connector: Connector | None = None

    @property
    def id(self) -> str:
        return self.call.id

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.call.timezone)

    @property
    def last_session(self) -> int:
        return self.sessions[-1].number

    def session(self, number: int) -> Session | None:
        return next((s for s in self.sessions if s.number == number), None)

    def session_for(self, instant: datetime) -> int | None:
        """The first session whose relevé cut-off is at or after `instant` (SPEC §4)."""
        return next((s.number for s in self.sessions if instant <= s.cutoff), None)

    def in_window(self, instant: datetime) -> bool:
        return self.window.opens <= instant <= self.window.closes

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.committee.members if m.id == member_id), None)


def _localize(raw: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """TOML local datetimes are read in the call's timezone; explicit offsets are kept."""

    def fix(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=tz)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    fixed: dict[str, Any] = fix(raw)
    return fixed


PERIOD = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(/[0-9]{4}-[0-9]{2}-[0-9]{2})?$")


def _identifiers(raw: Any, path: str = "") -> list[tuple[str, str]]:
    """Every SIRET or SIREN of the file, wherever it is: (where, value)."""
    found: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and ("siret" in key.lower() or "siren" in key.lower() or key == "attributor_id"):
                found.append((where, value))
            else:
                found += _identifiers(value, where)
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            found += _identifiers(value, f"{path}[{i}]")
    return found


def _check_identifiers(raw: dict[str, Any]) -> list[str]:
    problems = []
    for where, value in _identifiers(raw):
        if (where.endswith("attributor_id") or "siret" in where.lower()) and len(value) != 14:
            problems.append(f"{where} = {value!r} : un SIRET a 14 chiffres")
        elif len(value) == 14:
            if not (siret_is_valid(value) and siren_is_valid(value[:9])):
                problems.append(f"{where} = {value!r} n'est pas un SIRET valide (clé de contrôle Luhn)")
        elif len(value) == 9:
            if not siren_is_valid(value):
                problems.append(f"{where} = {value!r} n'est pas un SIREN valide (clé de contrôle Luhn)")
        else:
            problems.append(f"{where} = {value!r} : un SIRET a 14 chiffres, un SIREN 9")
    return problems


_TYPES = {"int": "un entier", "str": "une chaîne", "bool": "un booléen", "float": "un nombre", "array": "une liste"}


def _french(message: str) -> str:
    """msgspec's message on a wrong type or field, said in French (its `$.path` kept)."""
    found = re.match(r"Expected `([^`]+)`, got `([^`]+)`(?: - at `\$\.([^`]+)`)?", message)
    if found:
        want, got, where = found.groups()
        return f"{where or 'valeur'} : {_TYPES.get(want, want)} attendu, {_TYPES.get(got, got)} trouvé"
    found = re.match(r"Object contains unknown field `([^`]+)`(?: - at `\$\.?([^`]*)`)?", message)
    if found:
        return f"champ inconnu « {found.group(1)} »" + (f" dans [{found.group(2)}]" if found.group(2) else "")
    found = re.match(r"Object missing required field `([^`]+)`(?: - at `\$\.?([^`]*)`)?", message)
    if found:
        return f"champ obligatoire manquant « {found.group(1)} »" + (
            f" dans [{found.group(2)}]" if found.group(2) else ""
        )
    return message


def _check(cfg: CallConfig) -> None:
    problems = []
    period = cfg.publication.payment_period
    if period is not None and not PERIOD.match(period):
        problems.append(f"publication.payment_period = {period!r} : attendu AAAA-MM-JJ ou AAAA-MM-JJ/AAAA-MM-JJ")
    if cfg.window.opens >= cfg.window.closes:
        problems.append("window.opens doit précéder window.closes")
    cutoffs = [s.cutoff for s in cfg.sessions]
    if not cfg.sessions:
        problems.append("il faut au moins une [[sessions]]")
    elif cutoffs != sorted(cutoffs) or len(set(cutoffs)) != len(cutoffs):
        problems.append("les relevés (cutoff) des sessions doivent être croissants")
    elif cfg.sessions[-1].cutoff < cfg.window.closes:
        problems.append("le relevé de la dernière session doit être à la clôture des dépôts (window.closes) ou après")
    if [s.number for s in cfg.sessions] != list(range(1, len(cfg.sessions) + 1)):
        problems.append("les sessions se numérotent 1, 2, … dans l'ordre")
    if cfg.budget.envelope_cents <= 0:
        problems.append("budget.envelope_cents doit être positif")
    e = cfg.eligibility
    if e.cost_min_exclusive_cents >= e.cost_max_exclusive_cents:
        problems.append("les bornes de coût de [eligibility] sont inversées")
    if not 0 <= e.rate_min_percent <= e.rate_max_percent:
        problems.append("les bornes de taux de [eligibility] sont inversées")
    for track, themes in cfg.tracks.items():
        for theme in themes:
            if theme not in cfg.themes:
                problems.append(f"tracks.{track} nomme une thématique inconnue : {theme!r}")
    ids = [m.id for m in cfg.committee.members]
    if len(set(ids)) != len(ids):
        problems.append("les identifiants des membres du comité doivent être uniques")
    for m in cfg.committee.members:
        if m.departement is not None and m.departement not in cfg.departements:
            problems.append(f"le membre du comité {m.id} a un département inconnu : {m.departement}")
    problems += _console_problems(cfg)
    if cfg.connector is not None:
        problems += _connector_problems(cfg)
    if problems:
        raise ConfigError("; ".join(problems))


def _console_problems(cfg: CallConfig) -> list[str]:
    problems = []
    emails = [u.email.lower() for u in cfg.console.users]
    if len(set(emails)) != len(emails):
        problems.append("les adresses des agents de la console (console.users) doivent être uniques")
    for u in cfg.console.users:
        if not EMAIL.match(u.email):
            problems.append(f"l'agent de la console {u.email!r} n'a pas d'adresse électronique valide")
        if u.role not in AGENT_ROLES:
            problems.append(
                f"l'agent de la console {u.email} a un rôle inconnu : {u.role!r} (l'un de {', '.join(AGENT_ROLES)})"
            )
        if u.role == "committee_member" and (u.member_id is None or cfg.member(u.member_id) is None):
            problems.append(f"l'agent de la console {u.email} est membre du comité sans member_id connu")
        if u.role != "committee_member" and u.member_id is not None:
            problems.append(f"l'agent de la console {u.email} a un member_id sans être membre du comité")
    return problems


def _connector_problems(cfg: CallConfig) -> list[str]:
    """[connector], checked with French messages (an operator writes this section by hand)."""
    c = cfg.connector
    assert c is not None
    out = []
    if not c.api_url.startswith(("https://", "http://")):
        out.append(f"connector.api_url doit être une URL http(s) : {c.api_url!r}")
    if c.notifications not in ("aap", "dn"):
        out.append("connector.notifications doit valoir « aap » (les e-mails d'AAP) ou « dn » (ceux de DN)")
    if not 1 <= c.requests_per_minute <= 10_000:
        out.append("connector.requests_per_minute doit être compris entre 1 et 10 000")
    if not 1 <= c.poll_interval_seconds <= 86_400:
        out.append("connector.poll_interval_seconds doit être compris entre 1 et 86 400")
    if not 1 <= c.concurrent_downloads <= 32:
        out.append("connector.concurrent_downloads doit être compris entre 1 et 32")
    if c.updated_since.tzinfo is None:
        out.append("connector.updated_since doit porter un fuseau horaire")
    if not c.demarches:
        out.append("connector.demarches : au moins une démarche est requise")
    numbers = [d.number for d in c.demarches.values()]
    if len(set(numbers)) != len(numbers):
        out.append("connector.demarches : deux démarches ont le même numéro")
    for track, link in c.demarches.items():
        where = f"connector.demarches.{track}"
        if track not in cfg.tracks:
            out.append(f"{where} : la filière « {track} » n'existe pas dans [tracks]")
        if link.number <= 0:
            out.append(f"{where}.number doit être un numéro de démarche positif")
        missing = [k for k in REQUIRED_CHAMPS if not link.champs.get(k)]
        if missing:
            out.append(f"{where}.champs : champ(s) manquant(s) : {', '.join(missing)}")
        unknown = sorted(set(link.champs) - set(REQUIRED_CHAMPS) - set(OPTIONAL_CHAMPS))
        if unknown:
            out.append(f"{where}.champs : champ(s) inconnu(s) : {', '.join(unknown)}")
        bad = sorted(set(link.annotations) - set(ANNOTATIONS))
        if bad:
            out.append(f"{where}.annotations : annotation(s) inconnue(s) : {', '.join(bad)}")
    kinds = set(cfg.eligibility.applicant_kinds)
    for label, kind in c.kinds.items():
        if kind not in kinds and kind != "other":
            out.append(f"connector.kinds : « {label} » donne la nature inconnue « {kind} »")
    for label, category in c.expense_categories.items():
        if category not in ("service", "study", "training", "software", "other", "staff", "it_equipment"):
            out.append(f"connector.expense_categories : « {label} » donne la catégorie inconnue « {category} »")
    for label, section in c.sections.items():
        if section not in ("situation", "method", "roadmap", "solution"):
            out.append(f"connector.sections : « {label} » donne la partie inconnue « {section} »")
    for label, side in c.resources.items():
        if side not in ("own", "other"):
            out.append(f"connector.resources : « {label} » doit donner « own » ou « other », pas « {side} »")
    return out


def parse_call(text: str, source: str = "<call>") -> CallConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} : TOML invalide : {exc}") from None
    try:
        tz = ZoneInfo(raw.get("call", {}).get("timezone", ""))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{source} : call.timezone manque ou est inconnu") from None
    bad_ids = _check_identifiers(raw)
    if bad_ids:
        raise ConfigError(f"{source} : " + "; ".join(bad_ids))
    try:
        cfg = msgspec.convert(_localize(raw, tz), CallConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source} : {_french(str(exc))}") from None
    try:
        _check(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{source} : {exc}") from None
    return cfg


def calls_dir() -> Path:
    env = os.environ.get(CALLS_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "config" / "calls"


def load_call(call: str = DEFAULT_CALL) -> CallConfig:
    """Load a call by id (from the calls folder) or by path to a TOML file."""
    path = Path(call)
    if not path.suffix:
        path = calls_dir() / f"{call}.toml"
    if not path.is_file():
        raise ConfigError(f"aucune configuration d'appel à {path}")
    return parse_call(path.read_text(encoding="utf-8"), str(path))
