"""The budget's reactions: a selection reserves credits, the deadline lapses what is left.

Every command on the envelope goes through `aap_platform.store.execute`: load, decide, append with
the version decided on, re-decide on conflict — so the envelope never goes below zero.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aap_contract.envelope import Event
from aap_contract.events import ProjectSelected, ReservationRefused
from aap_platform.execute import execute
from aap_platform.ids import stable_id
from aap_platform.projection import Projection
from aap_platform.reactor import Handler
from aap_platform.store import EventStore, Loaded
from services.budget.domain import (
    Command,
    Envelope,
    LapseAt,
    Reserve,
    decide,
    fold,
    past_deadline,
)
from services.budget.view import BudgetView

log = logging.getLogger(__name__)
AGGREGATE = "envelope"
ACTOR = "budget"
ATTEMPTS = 200          # every round lets one racer through; enough for hundreds of racers


async def run_command(store: EventStore, initial: Envelope, command: Command, *, now: Callable[[], datetime],
                      actor: str = ACTOR, causation: Event | None = None,
                      event_id: str | None = None) -> Event | None:
    """Decide `command` on the envelope as stored and append its event (None: nothing to do)."""
    def decide_on(loaded: Loaded):
        return decide(command, fold(initial, (e.data for e in loaded.events)))
    return await execute(store, AGGREGATE, store.call_id, decide_on, actor=actor, now=now,
                         causation=causation, event_id=event_id, attempts=ATTEMPTS)


def reactor(store: Callable[[], EventStore], initial: Envelope, now: Callable[[], datetime]) -> Handler:
    """On ProjectSelected: reserve the grant. The derived event's id is stable, and a selection
    already answered decides nothing, so a redelivery appends nothing new."""
    async def on_event(event: Event, seq: int) -> None:
        d = event.data
        if not isinstance(d, ProjectSelected):
            return
        command = Reserve(dossier_id=d.dossier_id, session=d.session, selection_event_id=event.event_id,
                          amount_cents=d.granted_cents)
        answer = await run_command(store(), initial, command, now=now, causation=event,
                                   event_id=stable_id("reservation", event.event_id))
        if answer is not None and isinstance(answer.data, ReservationRefused):
            log.warning("reservation refused for dossier %s: %d cents asked, %d available",
                        d.dossier_id, d.granted_cents, answer.data.available_cents)
    return on_event


def lapse_tick(store: Callable[[], EventStore], initial: Envelope, view: Projection[BudgetView]):
    """Clock tick: once the deadline has passed, lapse the reservations still uncommitted."""
    async def tick(now: datetime) -> None:
        if not past_deadline(now, initial.deadline):
            return
        # The real clock ticks every second: skip the store when a caught-up view holds no
        # reservation (a lagging view proves nothing, so then the envelope is loaded).
        if not view.state.envelope.reservations and view.position >= await store().last_sequence():
            return
        await run_command(store(), initial, LapseAt(now), now=lambda: now)
    return tick
