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
from aap_platform import idempotency
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
        replayed: list[Event] | None = None,
    ) -> Event | None:
        """`replayed`: the event id is an idempotency key's; found recorded, the event is put
        there and nothing is decided (another command under the key: 422)."""

        def decide(loaded: Loaded):
            if replayed is not None:
                first = idempotency.prior(loaded, event_id, lambda e: domain.answers(command, e.data))
                if first is not None:
                    replayed.append(first)
                    return None
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
            replays=replayed is not None,
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

    async def commit(
        self, dossier_id: str, legal_reference: str, actor: str, key: str | None = None
    ) -> tuple[CreditsCommitted, bool]:
        """Record a legal commitment, decided on views that include everything already in the
        stream (the dossier may have been submitted a moment ago); read your write after. With
        an idempotency key, a retry is answered with the commitment recorded the first time
        (True: a replay)."""
        await self.view.wait_for(await self.runtime.store.last_sequence(), timeout=CATCH_UP_SECONDS)

        def context() -> domain.Context:
            entry = self.view.state.dossiers.entries.get(dossier_id)
            return domain.Context(
                self.runtime.now(), dossier_known=entry is not None, title=entry.title if entry else ""
            )

        replayed: list[Event] = []
        event = await self._run(
            domain.Commit(dossier_id, legal_reference),
            context,
            actor=actor,
            event_id=idempotency.event_id("commitment", actor, key) if key is not None else None,
            replayed=replayed if key is not None else None,
        )
        if event is None:
            assert isinstance(replayed[-1].data, CreditsCommitted)
            return replayed[-1].data, True
        assert isinstance(event.data, CreditsCommitted)  # recorded, or refused
        await self._caught_up()
        return event.data, False

    async def _caught_up(self) -> None:
        """Read your write; recorded all the same if the view is late (it shows it later)."""
        try:
            await self.view.wait_for(await self.runtime.store.last_sequence(), timeout=CATCH_UP_SECONDS)
        except Exception as exc:  # noqa: BLE001 — the answer is that it is recorded
            log.warning("recorded, not yet in the budget's view: %r", exc)

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
        await self._caught_up()
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
