"""The committee's commands: load the session, bring the views up to the stream, decide,
append; on a conflict (a concurrent decision on the same session) decide again on fresh state.
The only module of the service that runs commands."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from litestar.exceptions import ServiceUnavailableException

from aap_contract.envelope import Event
from aap_contract.events import Scores
from aap_contract.refusal import Refusal
from aap_platform.execute import execute
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from aap_platform.store import Loaded
from services.committee import domain
from services.committee.view import CommitteeView

SYNC_TIMEOUT = 10.0


class UnknownSession(Refusal):
    """An unknown session number: 404, with the same `{code, message}` body as a refusal."""

    def __init__(self, number: int) -> None:
        super().__init__("UNKNOWN_SESSION", f"La session {number} n'existe pas pour cet appel à projets.")


@dataclass
class CommitteeHandlers:
    runtime: Runtime
    projection: Projection[CommitteeView]

    @property
    def view(self) -> CommitteeView:
        return self.projection.state

    def check_session(self, number: int) -> None:
        if self.runtime.call.session(number) is None:
            raise UnknownSession(number)

    async def review(self, session: int, dossier_id: str, member_id: str, scores: Scores, actor: str) -> Event:
        return await self._run(domain.RecordReview(session, dossier_id, member_id, scores), actor)

    async def decide(self, command: domain.Decide, actor: str) -> Event:
        return await self._run(command, actor)

    async def close(self, session: int, actor: str) -> Event:
        return await self._run(domain.CloseSession(session), actor)

    async def _sync(self, _: Loaded | None = None) -> None:
        """A decision is never taken on a stale view: wait until it has seen the whole stream."""
        try:
            await self.projection.wait_for(await self.runtime.store.last_sequence(), timeout=SYNC_TIMEOUT)
        except TimeoutError:
            raise ServiceUnavailableException("vue du comité en retard sur le journal ; réessayez") from None

    async def _run(self, command: domain.Command, actor: str) -> Event:
        self.check_session(command.session)

        def decide(loaded: Loaded):
            state = reduce(domain.evolve, loaded.events, domain.initial_state(command.session))
            return domain.decide(command, state, self.view.facts(self.runtime.now()))

        event = await execute(
            self.runtime.store,
            "session",
            str(command.session),
            decide,
            actor=actor,
            now=self.runtime.now,
            on_load=self._sync,
        )
        assert event is not None  # the decider records an event or refuses
        return event
