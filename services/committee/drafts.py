"""Programmation drafts (the `draft` aggregate): a session's secretariat tries which eligible
dossiers to fund, at which amount, before deciding. Pure, like `domain.py`, with the same trio.

A draft never touches the envelope. What each line would meet today is computed by the
committee's own decider (`domain.decide` on a selection), lines taken in order with what the
previous lines would already use of the envelope: no second copy of the rules here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import msgspec

from aap_contract.entry import DossierEntry
from aap_contract.envelope import Event
from aap_contract.events import DraftAdopted, DraftCreated, DraftLine, DraftLineChanged, DraftLineRemoved, EventData
from aap_contract.refusal import Refusal
from services.committee import domain
from services.committee.agenda import Facts, SessionState, agenda


class CreateDraft(msgspec.Struct, frozen=True):
    draft_id: str
    session: int
    name: str
    author: str
    lines: tuple[DraftLine, ...] = ()
    proposed: bool = False


class SetLine(msgspec.Struct, frozen=True):
    draft_id: str
    dossier_id: str
    granted_cents: int


class RemoveLine(msgspec.Struct, frozen=True):
    draft_id: str
    dossier_id: str


class RecordAdoption(msgspec.Struct, frozen=True):
    draft_id: str
    outcomes: tuple[Any, ...]  # LineOutcome, one per line, in the draft's order


Command = CreateDraft | SetLine | RemoveLine | RecordAdoption


class DraftState(msgspec.Struct):
    """Not frozen: `evolve` updates it in place (start each fold from `initial_state`)."""

    draft_id: str = ""
    session: int = 0
    name: str = ""
    author: str = ""
    proposed: bool = False
    lines: dict[str, int] = msgspec.field(default_factory=dict)  # dossier -> granted, in insertion order
    adopted: bool = False
    outcomes: list[Any] = msgspec.field(default_factory=list)  # LineOutcome, once adopted

    @property
    def exists(self) -> bool:
        return bool(self.draft_id)


def initial_state() -> DraftState:
    return DraftState()


def evolve(state: DraftState, event: Event[Any]) -> DraftState:
    d = event.data
    if isinstance(d, DraftCreated):
        state.draft_id, state.session, state.name, state.author = d.draft_id, d.session, d.name, d.author
        state.proposed = d.proposed
        state.lines = {line.dossier_id: line.granted_cents for line in d.lines}
    elif isinstance(d, DraftLineChanged):
        state.lines[d.dossier_id] = d.granted_cents
    elif isinstance(d, DraftLineRemoved):
        state.lines.pop(d.dossier_id, None)
    elif isinstance(d, DraftAdopted):
        state.adopted, state.outcomes = True, list(d.outcomes)
    return state


def decide(command: Command, state: DraftState, context: None = None) -> EventData | None:
    if isinstance(command, CreateDraft):
        if state.exists:
            return None  # the same creation, retried
        return DraftCreated(
            draft_id=command.draft_id,
            session=command.session,
            name=command.name,
            author=command.author,
            lines=list(command.lines),
            proposed=command.proposed,
        )
    if not state.exists:
        raise Refusal("UNKNOWN_DRAFT", f"Le projet de programmation {command.draft_id} est inconnu.")
    if state.adopted:
        raise Refusal("DRAFT_ADOPTED", f"Le projet « {state.name} » a déjà été adopté : il ne peut plus changer.")
    if isinstance(command, SetLine):
        if state.lines.get(command.dossier_id) == command.granted_cents:
            return None
        return DraftLineChanged(command.draft_id, command.dossier_id, command.granted_cents)
    if isinstance(command, RemoveLine):
        if command.dossier_id not in state.lines:
            return None
        return DraftLineRemoved(command.draft_id, command.dossier_id)
    return DraftAdopted(draft_id=command.draft_id, session=state.session, outcomes=list(command.outcomes))


# --- what a draft would meet today ---------------------------------------------------------


class LineCheck(msgspec.Struct, frozen=True):
    dossier_id: str
    title: str
    departement: str
    theme: str
    granted_cents: int
    code: str | None = None  # None: the committee would record this selection today
    message: str | None = None


class Evaluation(msgspec.Struct, frozen=True):
    total_cents: int
    available_cents: int  # what the envelope has left today, for the committee
    remaining_cents: int  # what would remain after the draft
    by_departement: dict[str, int]
    by_theme: dict[str, int]
    lines: list[LineCheck]

    @property
    def refused(self) -> int:
        return sum(1 for line in self.lines if line.code is not None)


def evaluate(lines: Iterable[tuple[str, int]], session: SessionState, facts: Facts) -> Evaluation:
    """Each line through the committee's decider, in order, as if the previous lines had been
    selected: the envelope each line sees is what remains after them."""
    checks: list[LineCheck] = []
    used = 0
    by_departement: dict[str, int] = {}
    by_theme: dict[str, int] = {}
    for dossier_id, granted in lines:
        entry = facts.dossiers.get(dossier_id)
        code = message = None
        try:
            domain.decide(
                domain.Decide(session.number, dossier_id, "select", granted_cents=granted),
                session,
                replace(facts, available_cents=facts.available_cents - used),
            )
        except Refusal as refusal:
            code, message = refusal.code, refusal.message
        if code is None:
            used += granted
        dep, theme = (entry.departement, entry.theme) if entry is not None else ("", "")
        if code is None:
            by_departement[dep] = by_departement.get(dep, 0) + granted
            by_theme[theme] = by_theme.get(theme, 0) + granted
        checks.append(LineCheck(dossier_id, entry.title if entry else dossier_id, dep, theme, granted, code, message))
    return Evaluation(used, facts.available_cents, facts.available_cents - used, by_departement, by_theme, checks)


def propose(
    session: SessionState,
    facts: Facts,
    means: Mapping[str, float | None],
    departement_cap_cents: int | None = None,
) -> list[DraftLine]:
    """Greedy by mean score (best first, unreviewed last): each undecided agenda dossier gets the
    most the call allows (its request, at most the maximum rate of its cost), if that is at least
    the minimum rate, fits in what remains of the envelope and in the département's cap."""
    rules = facts.call.eligibility
    left = facts.available_cents
    per_departement: dict[str, int] = {}
    chosen: list[DraftLine] = []

    def order(e: DossierEntry) -> tuple[bool, float, str]:
        mean = means.get(e.dossier_id)
        return (mean is None, -(mean or 0.0), e.dossier_id)

    for entry in sorted(agenda(session, facts.dossiers), key=order):
        if session.standing(entry.dossier_id, facts.refused) is not None:
            continue
        cost = entry.global_cost_cents
        grant = min(entry.requested_cents, cost * rules.rate_max_percent // 100)
        if grant * 100 < cost * rules.rate_min_percent or grant > left:
            continue
        spent = per_departement.get(entry.departement, 0)
        if departement_cap_cents is not None and spent + grant > departement_cap_cents:
            continue
        chosen.append(DraftLine(entry.dossier_id, grant))
        left -= grant
        per_departement[entry.departement] = spent + grant
    return chosen
