"""The committee's read model, fed with the whole call stream: the dossier lifecycle index,
every session's state (folded by the decider's own `evolve`) and the committee's view of the
budget. `evolve_view` updates it in place and returns it; replaying the log into a fresh
`initial_view` gives the same view.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aap_contract.config import CallConfig
from aap_contract.entry import summary
from aap_contract.envelope import Event
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    DraftAdopted,
    DraftCreated,
    DraftLineChanged,
    DraftLineRemoved,
    ProjectDeferred,
    ProjectRejected,
    ProjectSelected,
    ReservationRefused,
    ReservationsLapsed,
    ReviewRecorded,
    SessionClosed,
)
from aap_contract.lifecycle import INDEX_TYPES, DossierIndex, evolve_index, initial_index
from aap_contract.reading import SUMMARY_READING
from aap_platform.codec import decoder_with
from aap_platform.projection import Projection
from services.committee import domain, drafts
from services.committee.agenda import Facts, SessionState

# the event types the view acts on (the others are not decoded): the index's, the sessions', the budget's
TYPES = INDEX_TYPES | {
    t.__name__
    for t in (
        ReviewRecorded,
        ProjectSelected,
        ProjectRejected,
        ProjectDeferred,
        SessionClosed,
        CreditsReserved,
        ReservationRefused,
        CreditsCommitted,
        ReservationsLapsed,
        DraftCreated,
        DraftLineChanged,
        DraftLineRemoved,
        DraftAdopted,
    )
}
DECODE = decoder_with(SUMMARY_READING)  # a dossier is read as far as its summary needs


class BudgetFacts:
    """Envelope, reserved, committed and the selections the budget has not answered yet."""

    def __init__(self, envelope_cents: int) -> None:
        self.envelope_cents = envelope_cents
        self.reserved: dict[str, int] = {}  # dossier -> reserved, not yet committed
        self.committed_cents = 0
        self.pending: dict[str, int] = {}  # selection event id -> granted, unanswered
        self.refused: set[str] = set()
        self.answered: set[str] = set()

    @property
    def available_cents(self) -> int:
        return self.envelope_cents - sum(self.reserved.values()) - self.committed_cents - sum(self.pending.values())

    def on_selected(self, d: ProjectSelected, event_id: str) -> None:
        self.pending[event_id] = d.granted_cents

    def _answered(self, d: CreditsReserved | ReservationRefused) -> None:
        self.pending.pop(d.selection_event_id, None)
        self.answered.add(d.selection_event_id)

    def on_reserved(self, d: CreditsReserved, _: str) -> None:
        self._answered(d)
        self.reserved[d.dossier_id] = d.amount_cents

    def on_refused(self, d: ReservationRefused, _: str) -> None:
        self._answered(d)
        self.refused.add(d.selection_event_id)

    def on_committed(self, d: CreditsCommitted, _: str) -> None:
        self.reserved.pop(d.dossier_id, None)
        self.committed_cents += d.amount_cents

    def on_lapsed(self, d: ReservationsLapsed, _: str) -> None:
        for lapse in d.lapses:
            self.reserved.pop(lapse.dossier_id, None)


# What each budget-related event type does to the committee's view of the budget, by type name.
_BUDGET_ON: dict[str, Callable[[BudgetFacts, Any, str], None]] = {
    "ProjectSelected": BudgetFacts.on_selected,
    "CreditsReserved": BudgetFacts.on_reserved,
    "ReservationRefused": BudgetFacts.on_refused,
    "CreditsCommitted": BudgetFacts.on_committed,
    "ReservationsLapsed": BudgetFacts.on_lapsed,
}


class CommitteeView:
    def __init__(self, call: CallConfig) -> None:
        self._call = call  # private: not part of the audited state
        self.index: DossierIndex = initial_index(summary)  # the dossier's summary, not its content
        # keyed by str(number), like the aggregate ids (and so that the audit can hash the view)
        self.sessions: dict[str, SessionState] = {str(s.number): domain.initial_state(s.number) for s in call.sessions}
        self.budget = BudgetFacts(call.budget.envelope_cents)
        self.drafts: dict[str, drafts.DraftState] = {}  # programmation drafts, by id

    def session(self, number: int) -> SessionState:
        return self.sessions[str(number)]

    def facts(self, now: datetime) -> Facts:
        b = self.budget
        return Facts(
            now=now,
            call=self._call,
            dossiers=self.index.entries,
            refused=b.refused,
            answered=b.answered,
            available_cents=b.available_cents,
        )


def initial_view(call: CallConfig) -> Callable[[], CommitteeView]:
    return lambda: CommitteeView(call)


def evolve_view(view: CommitteeView, event: Event) -> CommitteeView:
    evolve_index(view.index, event)
    on_budget = _BUDGET_ON.get(event.type)
    if on_budget is not None:
        on_budget(view.budget, event.data, event.event_id)
    if event.aggregate_type == "session":
        state = view.sessions.get(event.aggregate_id)
        if state is not None:
            domain.evolve(state, event)
    elif event.aggregate_type == "draft":
        draft = view.drafts.get(event.aggregate_id)
        if draft is None:
            draft = view.drafts[event.aggregate_id] = drafts.initial_state()
        drafts.evolve(draft, event)
    return view


def projection(call: CallConfig) -> Projection[CommitteeView]:
    """The view as the service runs it: fed by the call's stream, only the types it acts on."""
    return Projection("committee", initial_view(call), evolve_view, types=TYPES, decode=DECODE)
