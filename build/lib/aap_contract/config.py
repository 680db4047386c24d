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


def _check(cfg: CallConfig) -> None:
    problems = []
    if cfg.window.opens >= cfg.window.closes:
        problems.append("window.opens must be before window.closes")
    cutoffs = [s.cutoff for s in cfg.sessions]
    if not cfg.sessions:
        problems.append("at least one [[sessions]] is required")
    elif cutoffs != sorted(cutoffs) or len(set(cutoffs)) != len(cutoffs):
        problems.append("sessions must have increasing cut-offs")
    elif cfg.sessions[-1].cutoff < cfg.window.closes:
        problems.append("the last session's cut-off must be at or after window.closes")
    if [s.number for s in cfg.sessions] != list(range(1, len(cfg.sessions) + 1)):
        problems.append("sessions must be numbered 1, 2, … in order")
    if cfg.budget.envelope_cents <= 0:
        problems.append("budget.envelope_cents must be positive")
    e = cfg.eligibility
    if e.cost_min_exclusive_cents >= e.cost_max_exclusive_cents:
        problems.append("eligibility cost bounds are inverted")
    if not 0 <= e.rate_min_percent <= e.rate_max_percent:
        problems.append("eligibility rate bounds are inverted")
    for track, themes in cfg.tracks.items():
        for theme in themes:
            if theme not in cfg.themes:
                problems.append(f"tracks.{track} names unknown theme {theme!r}")
    ids = [m.id for m in cfg.committee.members]
    if len(set(ids)) != len(ids):
        problems.append("committee member ids must be unique")
    for m in cfg.committee.members:
        if m.departement is not None and m.departement not in cfg.departements:
            problems.append(f"committee member {m.id} has unknown département {m.departement}")
    problems += _console_problems(cfg)
    if problems:
        raise ConfigError("; ".join(problems))


def _console_problems(cfg: CallConfig) -> list[str]:
    problems = []
    emails = [u.email.lower() for u in cfg.console.users]
    if len(set(emails)) != len(emails):
        problems.append("console.users e-mails must be unique")
    for u in cfg.console.users:
        if not EMAIL.match(u.email):
            problems.append(f"console user {u.email!r} has no valid e-mail")
        if u.role not in AGENT_ROLES:
            problems.append(f"console user {u.email} has unknown role {u.role!r} (one of {', '.join(AGENT_ROLES)})")
        if u.role == "committee_member" and (u.member_id is None or cfg.member(u.member_id) is None):
            problems.append(f"console user {u.email} is a committee member without a known member_id")
        if u.role != "committee_member" and u.member_id is not None:
            problems.append(f"console user {u.email} has a member_id but is not a committee member")
    return problems


def parse_call(text: str, source: str = "<call>") -> CallConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        tz = ZoneInfo(raw.get("call", {}).get("timezone", ""))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{source}: call.timezone is missing or unknown") from None
    try:
        cfg = msgspec.convert(_localize(raw, tz), CallConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    try:
        _check(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
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
        raise ConfigError(f"no call configuration at {path}")
    return parse_call(path.read_text(encoding="utf-8"), str(path))
