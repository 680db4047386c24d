"""The committee's decider for the `session` aggregate (SPEC §6): pure rules, no I/O.

The state is folded from the session's own events with `evolve`, which updates the state in
place (start from `initial_state`); the committee's view folds its sessions with the same
`evolve`. What lies outside the session (the dossiers' lifecycle, the budget's answers, the
instant, the call) comes in `Facts`, read from the committee's views just before deciding.
`decide(command, state, facts)` returns the one event to record or raises a `Refusal`; the
checks run in FORMAT.md's order, so the first refusal that applies wins. VALIDATION is judged
before, at the HTTP edge.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from aap_contract.envelope import Event
from aap_contract.events import (
    EventData,
    ProjectDeferred,
    ProjectRejected,
    ProjectSelected,
    ReviewRecorded,
    Scores,
    SessionClosed,
)
from aap_contract.money import format_euros
from aap_contract.refusal import Refusal
from services.committee.agenda import (
    Decision,
    Facts,
    SessionState,
    on_agenda,
    open_items,
)


class RecordReview(msgspec.Struct, frozen=True):
    session: int
    dossier_id: str
    member_id: str
    scores: Scores


class Decide(msgspec.Struct, frozen=True):
    session: int
    dossier_id: str
    decision: Literal["select", "reject", "defer"]
    granted_cents: int | None = None
    motivation: str | None = None


class CloseSession(msgspec.Struct, frozen=True):
    session: int


Command = RecordReview | Decide | CloseSession


def decision_of(event: Event[Any]) -> Decision | None:
    """The decision a select / reject / defer event records (None for any other event)."""
    d = event.data
    kind = type(d)
    if kind is ProjectSelected:
        return Decision("select", event.event_id, granted_cents=d.granted_cents)
    if kind is ProjectRejected:
        return Decision("reject", event.event_id, motivation=d.motivation)
    if kind is ProjectDeferred:
        return Decision("defer", event.event_id, to_session=d.to_session)
    return None


def initial_state(number: int) -> SessionState:
    return SessionState(number)


def evolve(state: SessionState, event: Event[Any]) -> SessionState:
    d = event.data
    if type(d) is ReviewRecorded:
        by_member = state.reviews.get(d.dossier_id)
        if by_member is None:
            by_member = state.reviews[d.dossier_id] = {}
        by_member[d.member_id] = d.scores
        return state
    decision = decision_of(event)
    if decision is not None:
        state.decisions[d.dossier_id] = decision
    elif isinstance(d, SessionClosed):
        state.closed, state.laureates, state.not_retained = True, tuple(d.laureates), tuple(d.not_retained)
    return state


def answers(command: Command, data: EventData) -> bool:
    """Whether a recorded fact is the one this command records (a command retried with its
    idempotency key is answered with it; another command under the same key is refused)."""
    if isinstance(command, Decide):
        kinds = {"select": ProjectSelected, "reject": ProjectRejected, "defer": ProjectDeferred}
        if not isinstance(data, kinds[command.decision]):
            return False
        if (data.session, data.dossier_id) != (command.session, command.dossier_id):
            return False
        if isinstance(data, ProjectSelected):
            return data.granted_cents == (command.granted_cents or 0)
        if isinstance(data, ProjectRejected):
            return data.motivation == (command.motivation or "")
        return True
    if isinstance(command, RecordReview):
        return isinstance(data, ReviewRecorded) and (data.session, data.dossier_id, data.member_id, data.scores) == (
            command.session,
            command.dossier_id,
            command.member_id,
            command.scores,
        )
    return isinstance(data, SessionClosed) and data.session == command.session


def decide(command: Command, state: SessionState, facts: Facts) -> EventData:
    if isinstance(command, RecordReview):
        _dossier_checks(state, command.dossier_id, facts)
        return ReviewRecorded(
            session=state.number, dossier_id=command.dossier_id, member_id=command.member_id, scores=command.scores
        )
    if isinstance(command, Decide):
        return _decide_project(state, command, facts)
    return _close(state, facts)


def _session_checks(state: SessionState, facts: Facts) -> None:
    session = facts.call.session(state.number)
    if session is None:  # the HTTP edge answers 404 first; kept so that the decider is total
        raise Refusal("SESSION_NOT_OPEN", f"La session {state.number} n'existe pas.")
    if facts.now.replace(microsecond=0) <= session.cutoff:  # cut-offs are inclusive to the second
        raise Refusal(
            "SESSION_NOT_OPEN",
            f"La session {state.number} n'est pas encore ouverte : "
            f"le relevé a lieu le {session.cutoff:%d/%m/%Y à %H:%M:%S}.",
        )
    if state.closed:
        raise Refusal("SESSION_CLOSED", f"La session {state.number} est déjà close.")


def named(dossier_id: str, facts: Facts) -> str:
    """A dossier as a person knows it: by its project's title."""
    entry = facts.dossiers.get(dossier_id)
    return f"« {entry.title} »" if entry is not None else dossier_id


def _dossier_checks(state: SessionState, dossier_id: str, facts: Facts) -> None:
    if dossier_id not in facts.dossiers:
        raise Refusal("UNKNOWN_DOSSIER", f"Le dossier {dossier_id} est inconnu.")
    _session_checks(state, facts)
    if not on_agenda(state, facts.dossiers[dossier_id]):
        raise Refusal(
            "NOT_ON_AGENDA",
            f"Le dossier {named(dossier_id, facts)} n'est pas à l'ordre du jour de la "
            f"session {state.number} (inéligible, retiré, non encore instruit "
            "ou relevant d'une autre session).",
        )


def _grant_checks(command: Decide, facts: Facts) -> None:
    grant = command.granted_cents or 0
    entry = facts.dossiers[command.dossier_id]
    cost, requested, rules = entry.global_cost_cents, entry.requested_cents, facts.call.eligibility
    if grant * 100 < cost * rules.rate_min_percent or grant * 100 > cost * rules.rate_max_percent:
        raise Refusal(
            "GRANT_RANGE",
            f"La subvention de {format_euros(grant)} doit être comprise entre "
            f"{rules.rate_min_percent} % et {rules.rate_max_percent} % du coût global "
            f"({format_euros(cost)}).",
        )
    if grant > requested:
        raise Refusal(
            "GRANT_RANGE",
            f"La subvention de {format_euros(grant)} dépasse le montant demandé ({format_euros(requested)}).",
        )
    if grant > facts.available_cents:
        raise Refusal(
            "ENVELOPE_EXHAUSTED",
            f"La subvention de {format_euros(grant)} dépasse le reste de "
            f"l'enveloppe ({format_euros(facts.available_cents)}).",
        )


def _decide_project(state: SessionState, command: Decide, facts: Facts) -> EventData:
    _dossier_checks(state, command.dossier_id, facts)
    if state.standing(command.dossier_id, facts.refused) is not None:
        raise Refusal(
            "ALREADY_DECIDED",
            f"Le dossier {named(command.dossier_id, facts)} a déjà fait l'objet d'une décision "
            f"lors de la session {state.number}.",
        )
    n, dossier_id = state.number, command.dossier_id
    if command.decision == "defer":
        if n >= facts.call.last_session:
            raise Refusal("LAST_SESSION", f"La session {n} est la dernière : le dossier ne peut pas être ajourné.")
        return ProjectDeferred(session=n, dossier_id=dossier_id, to_session=n + 1)
    if command.decision == "reject":
        return ProjectRejected(session=n, dossier_id=dossier_id, motivation=command.motivation or "")
    _grant_checks(command, facts)
    return ProjectSelected(session=n, dossier_id=dossier_id, granted_cents=command.granted_cents or 0)


def _close(state: SessionState, facts: Facts) -> EventData:
    _session_checks(state, facts)
    items = open_items(state, facts)
    if items:
        raise Refusal(
            "OPEN_ITEMS",
            f"La session {state.number} ne peut pas être close : "
            f"{len(items)} {'dossier en attente' if len(items) < 2 else 'dossiers en attente'} "
            f"({' ; '.join(named(i, facts) for i in items)}).",
        )
    laureates, not_retained = [], []
    for dossier_id, decision in state.decisions.items():
        if state.standing(dossier_id, facts.refused) is not None:
            if decision.kind == "select":
                laureates.append(dossier_id)
            elif decision.kind == "reject":
                not_retained.append(dossier_id)
    not_retained += [
        e.dossier_id
        for e in facts.dossiers.values()
        if e.session == state.number and e.eligible is False and e.status != "withdrawn"
    ]
    return SessionClosed(session=state.number, laureates=sorted(laureates), not_retained=sorted(set(not_retained)))
