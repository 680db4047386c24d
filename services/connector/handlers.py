"""The connector's commands on its `dndossier` aggregate: load -> decide -> append, one function
each (the only caller of `execute` in the service), and the write-backs: a DN mutation is sent only
when its key is not recorded as done, and recorded as done only once DN accepted it.

Event ids are stable, so a retried command after a crash is stored once (Nats-Msg-Id)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aap_contract.config import CallConfig
from aap_contract.envelope import Event
from aap_contract.events import (
    EligibilityAssessed,
    ProjectRejected,
    ProjectSelected,
    ReviewRecorded,
    SessionClosed,
)
from aap_platform.execute import execute
from aap_platform.ids import stable_id
from aap_platform.store import EventStore, Loaded
from services.connector import metrics, writeback
from services.connector.client import DnClient, DnGraphQLError
from services.connector.domain import (
    AGGREGATE,
    DnState,
    RecordDeletion,
    RecordFailure,
    RecordImport,
    RecordWriteBack,
    decide,
    evolve,
    initial_state,
)

log = logging.getLogger(__name__)
ACTOR = "connector"
RECORD_WAIT_ROUNDS, RECORD_WAIT_SECONDS = 60, 0.5  # under the reactor's ack wait (60 s)


class NotYetRecorded(Exception):
    """A DN dossier's import is being recorded: the reactor tries the event again shortly."""


def fold(loaded: Loaded) -> DnState:
    state = initial_state()
    for event in loaded.events:
        state = evolve(state, event)
    return state


class Handlers:
    def __init__(
        self,
        store: Callable[[], EventStore],
        call: CallConfig,
        now: Callable[[], datetime],
        dn: Callable[[], DnClient | None],
    ) -> None:
        self.store, self.call, self.now, self.dn = store, call, now, dn
        self.view: Any = None  # the read model (Projection), for the HTTP API
        self.loop: Any = None  # the sync loop, when a DN token is configured

    async def state(self, dossier_id: str) -> DnState:
        return fold(await self.store().load(AGGREGATE, dossier_id))

    async def _run(
        self, dossier_id: str, command, event_id: str, causation: Event | None = None, fresh: bool = False
    ) -> Event | None:
        return await execute(
            self.store(),
            AGGREGATE,
            dossier_id,
            lambda loaded: decide(command, fold(loaded)),
            actor=ACTOR,
            now=self.now,
            causation=causation,
            event_id=event_id,
            fresh=fresh,
        )

    async def record_import(self, c: RecordImport, fresh: bool = False) -> Event | None:
        """`fresh`: the first fact of a dossier the sync just found without any (one round trip fewer;
        the append's expected version still checks it)."""
        event_id = stable_id("dn-import", c.dossier_id, c.fingerprint, c.document_checksum or "")
        return await self._run(c.dossier_id, c, event_id, fresh=fresh)

    async def record_failure(self, c: RecordFailure, fresh: bool = False) -> Event | None:
        event_id = stable_id("dn-failure", c.dossier_id, c.fingerprint, c.kind, *c.problems)
        return await self._run(c.dossier_id, c, event_id, fresh=fresh)

    async def record_deletion(self, c: RecordDeletion) -> Event | None:
        return await self._run(c.dossier_id, c, stable_id("dn-deletion", c.dossier_id))

    async def record_write_back(self, c: RecordWriteBack, causation: Event | None = None) -> Event | None:
        event = await self._run(c.dossier_id, c, stable_id("dn-writeback", c.dossier_id, c.key), causation)
        if event is not None:
            metrics.DN_WRITEBACKS.labels(c.mutation).inc()
        return event

    # --- write-backs -------------------------------------------------------------------------

    async def _imported(self, dossier_id: str) -> DnState | None:
        """The dossier's DN record; None for a dossier that did not come from DN. A dossier the
        connector submitted is recorded a moment later (after its document): wait for the record."""
        for _ in range(RECORD_WAIT_ROUNDS):
            state = await self.state(dossier_id)
            if state.in_aap:
                return state
            dossier = await self.store().load("dossier", dossier_id)
            if not (dossier.events and dossier.events[0].actor.startswith(f"{ACTOR}:")):
                return None
            await asyncio.sleep(RECORD_WAIT_SECONDS)
        raise NotYetRecorded(f"dossier {dossier_id}: import from DN not recorded yet")

    async def _apply(self, dossier_id: str, state: DnState, plan: list[writeback.WriteBack], causation: Event) -> int:
        done = 0
        client = self.dn()
        for step in plan:
            if step.key in state.written:
                continue
            if client is None:
                raise RuntimeError("no DN token: write-backs wait until one is configured")
            document, operation, already = writeback.MUTATIONS[step.mutation]
            try:
                await client.mutate(document, operation, step.mutation, step.input)
            except DnGraphQLError as exc:
                # Sent before, then killed before recording: DN names the state it is already in.
                if already is None or not any(f"déjà {already}" in m for m in exc.messages):
                    log.warning("DN mutation %s refused for dossier %s: %s", step.mutation, dossier_id, exc)
                    raise
            await self.record_write_back(RecordWriteBack(dossier_id, step.mutation, step.key), causation)
            state.written.add(step.key)
            done += 1
        return done

    def _link(self, state: DnState):
        c = self.call.connector
        assert c is not None and state.demarche is not None
        track = c.track_of(state.demarche)
        return c, (c.demarches[track] if track else None)

    async def write_back_assessment(self, event: Event) -> int:
        a: EligibilityAssessed = event.data
        state = await self._imported(a.dossier_id)
        dn_id = state.dn_dossier_id if state is not None else None
        if state is None or state.deleted or dn_id is None:
            return 0
        c, link = self._link(state)
        if link is None:
            return 0
        return await self._apply(a.dossier_id, state, writeback.for_assessment(a, dn_id, link, c), event)

    async def write_back_session(self, event: Event) -> int:
        closed: SessionClosed = event.data
        session = await self.store().load("session", str(closed.session))
        selections: dict[str, ProjectSelected] = {}
        rejections: dict[str, ProjectRejected] = {}
        reviews: dict[str, list[ReviewRecorded]] = {}
        for e in session.events:
            d = e.data
            if isinstance(d, ProjectSelected) and d.session == closed.session:
                selections[d.dossier_id] = d
            elif isinstance(d, ProjectRejected) and d.session == closed.session:
                rejections[d.dossier_id] = d
            elif isinstance(d, ReviewRecorded) and d.session == closed.session:
                reviews.setdefault(d.dossier_id, []).append(d)
        done = 0
        for dossier_id, laureate in [
            *((d, True) for d in closed.laureates),
            *((d, False) for d in closed.not_retained),
        ]:
            state = await self._imported(dossier_id)
            dn_id = state.dn_dossier_id if state is not None else None
            if state is None or state.deleted or dn_id is None:
                continue
            c, link = self._link(state)
            if link is None:
                continue
            plan = writeback.for_decision(
                closed.session,
                laureate,
                dn_id,
                link,
                c,
                selections.get(dossier_id),
                rejections.get(dossier_id),
                reviews.get(dossier_id, []),
            )
            done += await self._apply(dossier_id, state, plan, event)
        return done
