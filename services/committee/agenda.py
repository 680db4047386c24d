"""A session's state and its agenda (ARCHITECTURE.md "Agenda and decisions"), shared by the
decider and the read views: pure functions of the session's events and of the facts around it.

On the agenda of session n: eligible, not withdrawn dossiers collected at relevé n, plus those
deferred to n (FORMAT.md), plus any dossier already decided in n (a dossier deferred from n
keeps its deferral there). A decision stands unless it is a selection whose reservation the
budget refused: that dossier is back on the agenda, to be decided again.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec

from aap_contract.config import CallConfig
from aap_contract.entry import DossierEntry
from aap_contract.events import Scores


class Decision(msgspec.Struct, frozen=True):
    kind: Literal["select", "reject", "defer"]
    event_id: str
    granted_cents: int | None = None
    motivation: str | None = None
    to_session: int | None = None


class SessionState(msgspec.Struct):
    """Not frozen: the domain's `evolve` updates it in place (start each fold from `initial_state`)."""

    number: int
    closed: bool = False
    laureates: tuple[str, ...] = ()
    not_retained: tuple[str, ...] = ()
    decisions: dict[str, Decision] = msgspec.field(default_factory=dict)  # the last decision per dossier
    reviews: dict[str, dict[str, Scores]] = msgspec.field(default_factory=dict)  # dossier -> member -> scores

    def standing(self, dossier_id: str, refused: Set[str]) -> Decision | None:
        decision = self.decisions.get(dossier_id)
        if decision is None or (decision.kind == "select" and decision.event_id in refused):
            return None
        return decision


@dataclass(frozen=True)
class Facts:
    """What the decider knows beyond the session's events, read from the committee's views."""

    now: datetime
    call: CallConfig
    dossiers: Mapping[str, DossierEntry]
    refused: Set[str] = frozenset()  # selection event ids whose reservation was refused
    answered: Set[str] = frozenset()  # selection event ids the budget answered (either way)
    available_cents: int = 0  # envelope - reserved - committed - unanswered selections


def on_agenda(state: SessionState, entry: DossierEntry) -> bool:
    n = state.number
    return (
        entry.eligible is True
        and entry.status != "withdrawn"
        and (entry.session == n or entry.agenda_session == n or entry.dossier_id in state.decisions)
    )


def agenda(state: SessionState, dossiers: Mapping[str, DossierEntry]) -> list[DossierEntry]:
    return sorted((e for e in dossiers.values() if on_agenda(state, e)), key=lambda e: (e.submitted_at, e.dossier_id))


def open_items(state: SessionState, facts: Facts) -> list[str]:
    """Dossiers that keep the session from closing: undecided agenda dossiers, selections the
    budget has not answered yet, and dossiers of this relevé not yet assessed."""
    items = []
    for entry in agenda(state, facts.dossiers):
        decision = state.standing(entry.dossier_id, facts.refused)
        if decision is None or (decision.kind == "select" and decision.event_id not in facts.answered):
            items.append(entry.dossier_id)
    items += [
        e.dossier_id
        for e in facts.dossiers.values()
        if e.session == state.number and e.eligible is None and e.status != "withdrawn"
    ]
    return items
