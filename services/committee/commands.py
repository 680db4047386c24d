"""Running a committee command: load the session, bring the views up to the stream, decide,
append; on a conflict (a concurrent decision on the same session) decide again on fresh state.
"""
from __future__ import annotations

from litestar.exceptions import ServiceUnavailableException

from aap_contract.envelope import Event
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


class Committee:
    def __init__(self, runtime: Runtime, projection: Projection[CommitteeView]) -> None:
        self.runtime = runtime
        self.projection = projection

    @property
    def view(self) -> CommitteeView:
        return self.projection.state

    def check_session(self, number: int) -> None:
        if self.runtime.call.session(number) is None:
            raise UnknownSession(number)

    async def _sync(self, _: Loaded | None = None) -> None:
        """A decision is never taken on a stale view: wait until it has seen the whole stream."""
        try:
            await self.projection.wait_for(await self.runtime.store.last_sequence(), timeout=SYNC_TIMEOUT)
        except TimeoutError:
            raise ServiceUnavailableException("vue du comité en retard sur le journal ; réessayez") from None

    async def run(self, command: domain.Command, actor: str) -> Event:
        self.check_session(command.session)

        def decide(loaded: Loaded):
            state = domain.fold(command.session, loaded.events)
            return domain.decide(state, command, self.view.facts(self.runtime.now()))

        event = await execute(self.runtime.store, "session", str(command.session), decide,
                              actor=actor, now=self.runtime.now, on_load=self._sync)
        assert event is not None  # the decider records an event or refuses (the store counts it)
        return event
