"""Intake's commands, one method each: decide on the dossier aggregate and record the one event
(the only module of the service that runs commands). A recorded event is in the view when the
method returns: read your write (a view later than READ_YOUR_WRITE_SECONDS is logged, and the
answer is still that it is recorded: it is)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import DossierSubmitted
from aap_platform import idempotency, privacy
from aap_platform.auth import Principal
from aap_platform.execute import execute
from aap_platform.ids import stable_id
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from aap_platform.store import Loaded
from services.intake import documents, domain
from services.intake.view import IntakeView

log = logging.getLogger(__name__)
AGGREGATE = "dossier"
READ_YOUR_WRITE_SECONDS = 10.0


def _acting_for(who: Principal) -> tuple[str, ...] | None:
    """An applicant acts for its structures only; the other roles are not bound to any."""
    return who.sirens if who.role == "applicant" else None


def _state(loaded: Loaded) -> domain.DossierState:
    return reduce(domain.evolve, loaded.events, domain.initial_state())


@dataclass
class IntakeHandlers:
    runtime: Runtime
    view: Projection[IntakeView]
    max_document_bytes: int
    documents: documents.DocumentStore | None = None

    async def _run(
        self,
        command: domain.Command,
        who: Principal,
        event_id: str | None = None,
        at: datetime | None = None,
        *,
        fresh: bool = False,
    ) -> tuple[Event | None, domain.DossierState]:
        # `at`: the instant to decide at — an import's, on the platform the applicant used
        context = domain.Context(at or self.runtime.now(), self.runtime.call)
        states: list[domain.DossierState] = []
        recorded: list[int] = []

        def decide(loaded: Loaded):
            states.append(_state(loaded))
            return domain.decide(command, states[-1], context)

        event = await execute(
            self.runtime.store,
            AGGREGATE,
            command.dossier_id,
            decide,
            actor=f"{who.role}:{who.subject}",
            now=lambda: context.now,
            event_id=event_id,
            on_append=recorded.append,
            fresh=fresh,
            replays=event_id is not None,
        )
        if event is not None:
            try:
                await self.view.wait_for(recorded[-1], timeout=READ_YOUR_WRITE_SECONDS)
            except TimeoutError:  # recorded all the same: say so (the view shows it later)
                log.warning("%s recorded at #%d, not yet in the view", event.type, recorded[-1])
        return event, states[-1]

    async def submit(
        self, dossier: Dossier, who: Principal, key: str, *, assigned: bool = False
    ) -> tuple[DossierSubmitted, bool]:
        """The submission recorded, and whether it was recorded before (a retry with the same
        idempotency key: the key names the submission, even after a restart). The same key with
        another dossier is refused (`KeyReused`), nothing recorded. `assigned`: the server made
        the key up just now, so the dossier is surely new (decided without reading it first)."""
        dossier_id = stable_id("dossier", who.subject, key)
        event_id = idempotency.event_id("dossier-submitted", who.subject, key)
        event, state = await self._run(domain.SubmitDossier(dossier_id, dossier), who, event_id, fresh=assigned)
        if event is not None:
            assert isinstance(event.data, DossierSubmitted)
            return event.data, False
        assert state.submission is not None
        # the log holds the contacts sealed (deterministic per person): seal to compare
        sealed = await privacy.seal(self.runtime.store, DossierSubmitted(dossier_id, dossier, 0))
        assert isinstance(sealed, DossierSubmitted)
        if sealed.dossier != state.submission.dossier:
            raise idempotency.KeyReused()
        return state.submission, True

    async def amend(self, dossier_id: str, dossier: Dossier, who: Principal) -> Event:
        event, _ = await self._run(domain.AmendDossier(dossier_id, dossier, _acting_for(who)), who)
        assert event is not None
        return event

    async def withdraw(self, dossier_id: str, reason: str, who: Principal) -> None:
        await self._run(domain.WithdrawDossier(dossier_id, reason, _acting_for(who)), who)

    async def import_dossier(
        self, dossier_id: str, dossier: Dossier, who: Principal, at: datetime
    ) -> tuple[Event | None, domain.DossierState]:
        """A dossier from another platform, decided at its instant there: submitted, amended, or
        nothing when its content is unchanged (the event is None). Its contacts are sealed first, as
        the log holds them (deterministic per person), so that the same content compares equal."""
        sealed = await privacy.seal(self.runtime.store, DossierSubmitted(dossier_id, dossier, 0))
        assert isinstance(sealed, DossierSubmitted)
        return await self._run(domain.ImportDossier(dossier_id, sealed.dossier), who, at=at)

    async def attach_document(
        self, dossier_id: str, filename: str | None, body: bytes, who: Principal, at: datetime | None = None
    ) -> domain.AttachDocument:
        """Decide first (a refusal stores nothing), then keep the bytes, then record the event."""
        assert self.documents is not None
        digest = documents.sha256(body)
        current = _state(await self.runtime.store.load(AGGREGATE, dossier_id))
        declared = current.dossier.document.filename if current.dossier and current.dossier.document else None
        command = domain.AttachDocument(
            dossier_id,
            documents.safe_filename(filename or declared),
            documents.PDF,
            len(body),
            digest,
            documents.object_name(dossier_id, digest),
            _acting_for(who),
        )
        domain.decide(command, current, domain.Context(at or self.runtime.now(), self.runtime.call))
        await self.documents.put(command.object_name, body)
        await self._run(command, who, at=at)
        return command
