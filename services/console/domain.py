"""The console's own rules, which are only about who is signed in: the agent table of the call
(by e-mail), and which pages each role may open. The console decides nothing about dossiers,
sessions or money (every action goes to the owning service) and appends no event.

Pure: stdlib, msgspec and aap_contract only.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aap_contract.config import Console, ConsoleUser
from aap_contract.envelope import Event
from aap_contract.refusal import Refusal

ROLE_LABELS: dict[str, str] = {
    "instructor": "Instructeur ou instructrice",
    "committee_member": "Membre du comité",
    "budget_officer": "Responsable budgétaire",
    "auditor": "Auditeur ou auditrice",
    "admin": "Administration",
}

# Which pages each role may open (the services check every call again with the token's role).
PAGES: dict[str, tuple[str, ...]] = {
    "dashboard": ("instructor", "committee_member", "budget_officer", "auditor", "admin"),
    "dossiers": ("instructor", "committee_member", "auditor", "admin", "budget_officer"),
    "sessions": ("instructor", "committee_member", "auditor", "admin"),
    "budget": ("budget_officer", "instructor", "auditor", "admin", "committee_member"),
    "notifications": ("instructor", "auditor", "admin"),
    "audit": ("auditor", "admin"),
    "official": ("instructor", "budget_officer", "auditor", "admin"),  # a decision's arrêté and letters
}


# What a role may read of the log beyond the pages (docs/PERSONAL_DATA.md): the envelope's `actor`
# (the login that ran a command), and a withdrawal's free-text reason.
READS_ACTORS = ("auditor", "admin")
READS_WITHDRAWAL_REASONS = ("instructor", "auditor", "admin")


class Agent(msgspec.Struct, frozen=True):
    """The signed-in agent, as the session cookie keeps it."""

    email: str
    name: str
    role: str
    member_id: str | None = None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def may_see(self, page: str) -> bool:
        return self.role in PAGES.get(page, ())

    @property
    def reads_actors(self) -> bool:
        return self.role in READS_ACTORS

    @property
    def reads_withdrawal_reasons(self) -> bool:
        return self.role in READS_WITHDRAWAL_REASONS


class SignIn(msgspec.Struct, frozen=True):
    """Someone the provider (or the local sign-in page) vouches for, by e-mail."""

    email: str


class ConsoleState(msgspec.Struct, frozen=True):
    """The console owns no aggregate: its state never changes."""


def initial_state() -> ConsoleState:
    return ConsoleState()


def evolve(state: ConsoleState, event: Event[Any]) -> ConsoleState:
    return state


def decide(command: SignIn, state: ConsoleState, context: Console) -> Agent:
    """The agent of the call's table with that e-mail (case-insensitive), or a refusal."""
    wanted = command.email.strip().lower()
    found: ConsoleUser | None = next((u for u in context.users if u.email.lower() == wanted), None)
    if found is None or not wanted:
        raise Refusal(
            "UNKNOWN_AGENT",
            "Votre adresse n'est pas dans la liste des agents de cet appel : "
            "demandez à l'administration de l'appel de vous y ajouter.",
        )
    return Agent(email=found.email, name=found.name, role=found.role, member_id=found.member_id)
