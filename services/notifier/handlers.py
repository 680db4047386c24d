"""The notifier's commands: record a notification as sent, an official document as issued, each
once (the only module of the service that runs commands, with the platform's one retry policy).
Reading whether a notification is recorded comes before sending."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import reduce

from aap_contract.envelope import Event
from aap_contract.events import DossierAmended, DossierSubmitted, EventData, OfficialDocumentIssued, OfficialKind
from aap_platform.execute import execute
from aap_platform.ids import stable_id
from aap_platform.objects import ObjectBucket
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from aap_platform.store import Loaded
from services.notifier import domain, official
from services.notifier.official import OfficialDocuments
from services.notifier.view import NotifierView

AGGREGATE = "notification"
ACTOR = "notifier"


def _state(loaded: Loaded) -> domain.NotificationState:
    return reduce(domain.evolve, loaded.events, domain.initial_state())


def _issue(command: domain.IssueDocument, loaded: Loaded) -> EventData | None:
    return domain.decide(command, _state(loaded))


@dataclass
class NotifierHandlers:
    runtime: Runtime
    view: Projection[NotifierView] | None = None
    renderer: OfficialDocuments | None = None
    bucket: ObjectBucket | None = None  # the official documents' bytes (set once connected)

    async def is_recorded(self, notification_id: str) -> bool:
        """Whether NotificationSent is in the store (the view may lag a moment behind it)."""
        return _state(await self.runtime.store.load(AGGREGATE, notification_id)).sent

    async def record_sent(self, n: domain.Notification, message_id: str, subject: str) -> Event | None:
        """Append NotificationSent once the mail server accepted the message (stable event id:
        a retried append is stored once; already recorded: nothing appended)."""
        command = domain.RecordSent(n, message_id, subject)
        return await execute(
            self.runtime.store,
            AGGREGATE,
            n.notification_id,
            lambda loaded: domain.decide(command, _state(loaded)),
            actor=ACTOR,
            now=self.runtime.now,
            event_id=stable_id("notification", n.notification_id),
        )

    # --- official documents ------------------------------------------------------------------

    async def official_documents(
        self, session: int, dossier_id: str, group: str
    ) -> list[tuple[OfficialDocumentIssued, bytes]]:
        """The documents of a decision (`group`: "laureate" or "not_retained"), generated and
        recorded the first time, read back afterwards. Rendering is deterministic, so a crash
        between storing the bytes and recording the event only stores the same bytes again."""
        assert self.view is not None and self.bucket is not None
        out = []
        for kind in official.KINDS[group]:
            issued = self.view.state.official.get(official.document_id(session, kind, dossier_id))
            if issued is not None:
                out.append((issued, await self.bucket.get(issued.object_name)))
                continue
            issued, body = await self._render(session, dossier_id, kind)
            await self.bucket.put(issued.object_name, body)
            decide = functools.partial(_issue, domain.IssueDocument(issued))
            await execute(
                self.runtime.store,
                "official",
                issued.document_id,
                decide,
                actor=ACTOR,
                now=self.runtime.now,
                event_id=stable_id("official", issued.document_id),
            )
            out.append((issued, body))
        return out

    async def regenerate(self, document_id: str) -> tuple[OfficialDocumentIssued, bytes] | None:
        """A recorded document generated again from the log, for an auditor to compare."""
        assert self.view is not None
        issued = self.view.state.official.get(document_id)
        if issued is None:
            return None
        again, body = await self._render(issued.session, issued.dossier_id, issued.kind)
        return again, body

    async def _render(self, session: int, dossier_id: str, kind: OfficialKind) -> tuple[OfficialDocumentIssued, bytes]:
        assert self.view is not None and self.renderer is not None
        call, view = self.runtime.call, self.view.state
        closed = view.sessions[session]
        group = closed.laureates if kind != "non_selection" else closed.not_retained
        ref = official.reference(call, session, kind, sorted(group).index(dossier_id) + 1)
        entry = view.dossiers.entries[dossier_id]
        content = None
        for event in (await self.runtime.store.load("dossier", dossier_id)).events:
            if isinstance(event.data, (DossierSubmitted, DossierAmended)):
                content = event.data.dossier
        assert content is not None, f"no content for dossier {dossier_id}"
        decision = official.Decision(kind, session, ref, closed.closed_at, entry, content, entry.submitted_at)
        body = self.renderer.pdf(decision, call)
        document_id = official.document_id(session, kind, dossier_id)
        issued = OfficialDocumentIssued(
            document_id=document_id,
            dossier_id=dossier_id,
            session=session,
            kind=kind,
            reference=ref,
            sha256=official.sha256(body),
            size=len(body),
            object_name=f"{dossier_id}/{document_id}.pdf",
        )
        return issued, body
