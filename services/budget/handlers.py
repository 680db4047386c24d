"""The budget's commands, each run through `execute`: load the envelope, fold it with the
domain's `evolve`, decide, append with the version decided on, decide again on a conflict —
so the envelope never goes below zero, whatever the concurrency."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from aap_contract.config import Budget
from aap_contract.envelope import Event
from aap_contract.events import BeneficiaryIdentified, CreditsCommitted, ReservationRefused
from aap_platform.execute import execute
from aap_platform.ids import stable_id
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from aap_platform.store import Loaded
from services.budget import domain
from services.budget.view import BudgetView

log = logging.getLogger(__name__)
AGGREGATE = "envelope"
ACTOR = "budget"
ATTEMPTS = 200  # every round lets one racer through; enough for hundreds of racers
CATCH_UP_SECONDS = 10.0


@dataclass
class BudgetHandlers:
    runtime: Runtime
    view: Projection[BudgetView]

    @property
    def budget(self) -> Budget:
        return self.runtime.call.budget

    async def _run(
        self,
        command: domain.Command,
        context: Callable[[], domain.Context],
        *,
        actor: str = ACTOR,
        causation: Event | None = None,
        event_id: str | None = None,
    ) -> Event | None:
        def decide(loaded: Loaded):
            state = reduce(domain.evolve, loaded.events, domain.initial_state(self.budget))
            return domain.decide(command, state, context())

        store = self.runtime.store
        return await execute(
            store,
            AGGREGATE,
            store.call_id,
            decide,
            actor=actor,
            now=self.runtime.now,
            causation=causation,
            event_id=event_id,
            attempts=ATTEMPTS,
        )

    async def reserve(self, selection: Event) -> Event | None:
        """Reserve a selection's grant. The event id is stable and a selection already answered
        decides nothing, so a redelivery appends nothing new."""
        d = selection.data
        command = domain.Reserve(
            dossier_id=d.dossier_id,
            session=d.session,
            selection_event_id=selection.event_id,
            amount_cents=d.granted_cents,
        )
        answer = await self._run(
            command,
            lambda: domain.Context(self.runtime.now()),
            causation=selection,
            event_id=stable_id("reservation", selection.event_id),
        )
        if answer is not None and isinstance(answer.data, ReservationRefused):
            log.warning(
                "reservation refused for dossier %s: %d cents asked, %d available",
                d.dossier_id,
                d.granted_cents,
                answer.data.available_cents,
            )
        return answer

    async def commit(self, dossier_id: str, legal_reference: str, actor: str) -> CreditsCommitted:
        """Record a legal commitment, decided on views that include everything already in the
        stream (the dossier may have been submitted a moment ago); read your write after."""
        await self.view.wait_for(await self.runtime.store.last_sequence(), timeout=CATCH_UP_SECONDS)

        def context() -> domain.Context:
            entry = self.view.state.dossiers.entries.get(dossier_id)
            return domain.Context(
                self.runtime.now(), dossier_known=entry is not None, title=entry.title if entry else ""
            )

        event = await self._run(domain.Commit(dossier_id, legal_reference), context, actor=actor)
        assert event is not None and isinstance(event.data, CreditsCommitted)  # recorded, or refused
        await self.view.wait_for(await self.runtime.store.last_sequence(), timeout=CATCH_UP_SECONDS)
        return event.data

    async def identify(self, command: domain.Identify, actor: str) -> BeneficiaryIdentified:
        """Complete a committed grant's beneficiary (SIRET or RNA), decided on a caught-up view."""
        await self.view.wait_for(await self.runtime.store.last_sequence(), timeout=CATCH_UP_SECONDS)

        def context() -> domain.Context:
            entry = self.view.state.dossiers.entries.get(command.dossier_id)
            return domain.Context(
                self.runtime.now(),
                dossier_known=entry is not None,
                title=entry.title if entry else "",
                sirens=tuple(entry.sirens) if entry else (),
            )

        event = await self._run(command, context, actor=actor)
        assert event is not None and isinstance(event.data, BeneficiaryIdentified)  # recorded, or refused
        await self.view.wait_for(await self.runtime.store.last_sequence(), timeout=CATCH_UP_SECONDS)
        return event.data

    async def lapse(self, now: datetime) -> None:
        """Once the deadline has passed, lapse the reservations still uncommitted. The real
        clock ticks every second: the store is skipped while a caught-up view holds no
        reservation (a lagging view proves nothing, so then the envelope is loaded)."""
        if not domain.past_deadline(now, self.budget.commitment_deadline):
            return
        if not self.view.state.envelope.reservations and self.view.position >= await self.runtime.store.last_sequence():
            return
        await self._run(domain.LapseAt(), lambda: domain.Context(now))
