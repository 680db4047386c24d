"""The committee's commands: load the session, bring the views up to the stream, decide,
append; on a conflict (a concurrent decision on the same session) decide again on fresh state.
The only module of the service that runs commands."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from litestar.exceptions import ServiceUnavailableException

from aap_contract.envelope import Event
from aap_contract.events import DraftLine, LineOutcome, Scores
from aap_contract.refusal import Refusal
from aap_platform import idempotency
from aap_platform.execute import execute
from aap_platform.ids import new_id
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from aap_platform.store import Loaded
from services.committee import domain, drafts
from services.committee.ranking import ranking
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

    async def review(
        self, session: int, dossier_id: str, member_id: str, scores: Scores, actor: str, key: str | None = None
    ) -> tuple[Event, bool]:
        return await self._run(domain.RecordReview(session, dossier_id, member_id, scores), actor, key)

    async def decide(self, command: domain.Decide, actor: str, key: str | None = None) -> tuple[Event, bool]:
        """The decision recorded, and whether it was recorded before under the same key."""
        return await self._run(command, actor, key)

    async def close(self, session: int, actor: str, key: str | None = None) -> tuple[Event, bool]:
        return await self._run(domain.CloseSession(session), actor, key)

    # --- programmation drafts ---------------------------------------------------------------

    async def create_draft(
        self, session: int, name: str, author: str, lines: list[DraftLine], propose: bool, cap_cents: int | None
    ) -> str:
        """A new draft of `session`: the given lines, or proposed from the ranking (greedy)."""
        self.check_session(session)
        await self._sync()
        if propose:
            state = self.view.session(session)
            rows = ranking(state, self.view.index.entries, self.runtime.call.committee.criteria)
            lines = drafts.propose(
                state, self.view.facts(self.runtime.now()), {r.dossier_id: r.overall for r in rows}, cap_cents
            )
        draft_id = new_id()
        command = drafts.CreateDraft(draft_id, session, name, author, tuple(lines), proposed=propose)
        await self._run_draft(command, author)
        return draft_id

    async def set_line(self, session: int, draft_id: str, dossier_id: str, granted_cents: int, actor: str) -> None:
        self.check_draft(session, draft_id)
        await self._run_draft(drafts.SetLine(draft_id, dossier_id, granted_cents), actor)

    async def remove_line(self, session: int, draft_id: str, dossier_id: str, actor: str) -> None:
        self.check_draft(session, draft_id)
        await self._run_draft(drafts.RemoveLine(draft_id, dossier_id), actor)

    async def adopt(self, session: int, draft_id: str, actor: str) -> list[LineOutcome]:
        """Issue the draft's selections one by one as ordinary decisions, then record what was
        recorded and what was refused, and why."""
        draft = self.check_draft(session, draft_id)
        if draft.adopted:
            raise Refusal("DRAFT_ADOPTED", f"Le projet « {draft.name} » a déjà été adopté.")
        outcomes = []
        for dossier_id, granted in list(draft.lines.items()):
            try:
                await self._run(domain.Decide(session, dossier_id, "select", granted_cents=granted), actor)
                outcomes.append(LineOutcome(dossier_id, granted))
            except Refusal as refusal:
                outcomes.append(LineOutcome(dossier_id, granted, refusal.code, refusal.message))
        await self._run_draft(drafts.RecordAdoption(draft_id, tuple(outcomes)), actor)
        return outcomes

    def check_draft(self, session: int, draft_id: str) -> drafts.DraftState:
        self.check_session(session)
        draft = self.view.drafts.get(draft_id)
        if draft is None or draft.session != session:
            raise Refusal("UNKNOWN_DRAFT", f"Aucun projet de programmation {draft_id} pour la session {session}.")
        return draft

    async def _run_draft(self, command: drafts.Command, actor: str) -> None:
        def decide(loaded: Loaded):
            return drafts.decide(command, reduce(drafts.evolve, loaded.events, drafts.initial_state()))

        recorded: list[int] = []
        await execute(
            self.runtime.store,
            "draft",
            command.draft_id,
            decide,
            actor=actor,
            now=self.runtime.now,
            on_append=recorded.append,
            fresh=isinstance(command, drafts.CreateDraft),
        )
        if recorded:  # read your write: the draft's page shows it at once
            await self.projection.wait_for(recorded[-1], timeout=SYNC_TIMEOUT)

    async def _sync(self, _: Loaded | None = None) -> None:
        """A decision is never taken on a stale view: wait until it has seen the whole stream."""
        try:
            await self.projection.wait_for(await self.runtime.store.last_sequence(), timeout=SYNC_TIMEOUT)
        except TimeoutError:
            raise ServiceUnavailableException("vue du comité en retard sur le journal") from None

    async def _run(self, command: domain.Command, actor: str, key: str | None = None) -> tuple[Event, bool]:
        """Record the command's event, or, retried with its idempotency key, answer with the
        event recorded the first time (True: a replay; another command under the key: 422)."""
        self.check_session(command.session)
        event_id = idempotency.event_id("committee", actor, key) if key is not None else None
        replayed: list[Event] = []

        def decide(loaded: Loaded):
            first = idempotency.prior(loaded, event_id, lambda e: domain.answers(command, e.data))
            if first is not None:
                replayed.append(first)
                return None
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
            event_id=event_id,
            replays=event_id is not None,
        )
        if event is None:
            return replayed[-1], True
        return event, False
