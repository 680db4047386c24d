"""Intake's HTTP API: request -> command -> decider -> one event, and reads from the view."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar import Request, Response, get, post, put
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import FromPath, FromQuery

from aap_contract.envelope import Event
from aap_contract.refusal import Refusal
from aap_platform import metrics
from aap_platform.auth import ROLES, Principal, principal, require
from aap_platform.execute import execute
from aap_platform.ids import new_id, stable_id
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from aap_platform.store import Loaded
from services.intake import documents
from services.intake.domain import (
    AmendDossier,
    AttachDocument,
    Command,
    ImportDossier,
    SubmitDossier,
    WithdrawDossier,
    decide,
    fold,
)
from services.intake.schemas import item, parse_dossier, parse_import, parse_query, parse_withdraw
from services.intake.view import IntakeView, select

Q = FromQuery[str | None]         # query parameters are checked by parse_query (422 naming each)
WRITERS = ("applicant", "instructor", "admin", "connector")
IMPORTERS = ("connector", "admin")
MAX_KEY = 200


@dataclass
class Intake:
    """What the handlers need, held in the app's state."""
    runtime: Runtime
    view: Projection[IntakeView]
    max_document_bytes: int
    documents: documents.DocumentStore | None = None

    async def run(self, command: Command, who: Principal, event_id: str | None = None,
                  at: datetime | None = None) -> tuple[Event | None, Loaded]:
        """Decide on the aggregate and record the one event; the view has it when this returns.
        `at`: the instant to decide at (an import: the other platform's), else the clock's."""
        at = at or self.runtime.now()
        seen: list[Loaded] = []
        recorded: list[int] = []

        async def keep(loaded: Loaded) -> None:
            seen.append(loaded)

        event = await execute(self.runtime.store, "dossier", command.dossier_id,
                              lambda loaded: decide(command, fold([e.data for e in loaded.events]), at,
                                                    self.runtime.call),
                              actor=f"{who.role}:{who.subject}", now=lambda: at, event_id=event_id, on_load=keep,
                              on_append=recorded.append,
                              fresh=isinstance(command, SubmitDossier) and event_id is None)  # a new id
        if event is not None:
            metrics.EVENTS_PUBLISHED.labels(self.runtime.service, event.type).inc()
            await self.view.wait_for(recorded[-1], timeout=10)     # its own event: read your write
        return event, seen[-1]


def _acting_for(who: Principal) -> tuple[str, ...] | None:
    return who.sirens if who.role == "applicant" else None


def _must_act_for(who: Principal, sirens: list[str]) -> None:
    if not who.acts_for(sirens):
        raise PermissionDeniedException("vous ne pouvez agir que pour vos propres structures (SIREN)")


@post("/dossiers", guards=[require(*WRITERS)], summary="Déposer un dossier")
async def submit(request: Request, state: State) -> Response:
    intake: Intake = state.intake
    dossier = parse_dossier(await request.body(), intake.runtime.call)
    who = principal(request)
    _must_act_for(who, dossier.sirens)
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_KEY:
        raise ValidationException("en-tête Idempotency-Key invalide", status_code=422,
                                  extra=[{"field": "Idempotency-Key", "message": f"1 à {MAX_KEY} caractères"}])
    # A key names the submission: its retry finds the dossier already there, even after a restart.
    dossier_id = stable_id("dossier", who.subject, key) if key else new_id()
    event_id = stable_id("dossier-submitted", who.subject, key) if key else None
    event, loaded = await intake.run(SubmitDossier(dossier_id, dossier), who, event_id)
    first = event.data if event is not None else fold([e.data for e in loaded.events]).submission
    headers = {"Idempotent-Replayed": "true"} if event is None else {}
    return Response({"dossier_id": first.dossier_id, "session": first.session, "status": "submitted"},
                    status_code=201, headers=headers)


@put("/dossiers/{dossier_id:str}", guards=[require(*WRITERS)], summary="Modifier un dossier (remplace son contenu)")
async def amend(request: Request, state: State, dossier_id: FromPath[str]) -> dict:
    intake: Intake = state.intake
    dossier = parse_dossier(await request.body(), intake.runtime.call)
    who = principal(request)
    _must_act_for(who, dossier.sirens)
    event, _ = await intake.run(AmendDossier(dossier_id, dossier, _acting_for(who)), who)
    return {"dossier_id": dossier_id, "session": event.data.session, "status": "submitted"}


@put("/imports/{dossier_id:str}", guards=[require(*IMPORTERS)],
     summary="Importer un dossier d'une autre plateforme (dépôt, modification, ou rien s'il est inchangé)")
async def import_dossier(request: Request, state: State, dossier_id: FromPath[str]) -> dict:
    """The rules apply at the instant the applicant acted on the other platform (`submitted_at`)."""
    intake: Intake = state.intake
    body = parse_import(await request.body(), intake.runtime.call)
    who = principal(request)
    event, loaded = await intake.run(ImportDossier(dossier_id, body.dossier), who, at=body.submitted_at)
    current = fold([e.data for e in loaded.events])
    action = "unchanged" if event is None else ("submitted" if event.type == "DossierSubmitted" else "amended")
    session = event.data.session if event is not None else current.session
    return {"dossier_id": dossier_id, "action": action, "session": session}


@post("/dossiers/{dossier_id:str}/withdraw", guards=[require(*WRITERS)], status_code=200,
      summary="Retirer un dossier")
async def withdraw(request: Request, state: State, dossier_id: FromPath[str]) -> dict:
    intake: Intake = state.intake
    body = parse_withdraw(await request.body())
    who = principal(request)
    await intake.run(WithdrawDossier(dossier_id, body.reason, _acting_for(who)), who)
    return {"dossier_id": dossier_id, "status": "withdrawn"}


async def _read_limited(request: Request, limit: int) -> bytes:
    announced = request.headers.get("content-length")
    if announced and announced.isdigit() and int(announced) > limit:
        raise documents.too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise documents.too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@put("/dossiers/{dossier_id:str}/document", guards=[require(*WRITERS)], request_max_body_size=None,
     summary="Déposer le document descriptif (corps application/pdf)")
async def upload_document(request: Request, state: State, dossier_id: FromPath[str], filename: Q = None) -> dict:
    return await _attach(request, state.intake, dossier_id, filename, None)


@put("/imports/{dossier_id:str}/document", guards=[require(*IMPORTERS)], request_max_body_size=None,
     summary="Importer le document descriptif d'un dossier importé, à l'instant `at` de l'autre plateforme")
async def import_document(request: Request, state: State, dossier_id: FromPath[str], at: Q = None,
                          filename: Q = None) -> dict:
    try:
        instant = datetime.fromisoformat(at) if at else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValidationException("paramètre invalide : at", status_code=422,
                                  extra=[{"field": "at", "message": "instant ISO 8601 avec fuseau attendu"}])
    return await _attach(request, state.intake, dossier_id, filename, instant)


async def _attach(request: Request, intake: Intake, dossier_id: str, filename: str | None,
                  at: datetime | None) -> dict:
    content_type = request.headers.get("content-type")
    if (content_type or "").split(";")[0].strip().lower() == documents.PDF:
        body = await _read_limited(request, intake.max_document_bytes)
    else:
        body = b""
    documents.check_pdf(content_type, body, intake.max_document_bytes)
    who = principal(request)
    digest = documents.sha256(body)
    loaded = await intake.runtime.store.load("dossier", dossier_id)
    current = fold([e.data for e in loaded.events])
    declared = current.dossier.document.filename if current.dossier and current.dossier.document else None
    command = AttachDocument(dossier_id, filename or declared or "document.pdf", documents.PDF, len(body),
                             digest, documents.object_name(dossier_id, digest), _acting_for(who))
    decide(command, current, at or intake.runtime.now(), intake.runtime.call)   # refuse before storing anything
    await intake.documents.put(command.object_name, body)
    await intake.run(command, who, at=at)
    return {"dossier_id": dossier_id, "filename": command.filename, "size": command.size,
            "sha256": digest, "object_name": command.object_name}


@get("/dossiers/{dossier_id:str}", guards=[require(*ROLES)], summary="Lire un dossier")
async def read_one(request: Request, state: State, dossier_id: FromPath[str]) -> dict:
    entry = state.intake.view.state.get(dossier_id)
    if entry is None or not principal(request).acts_for(entry.dossier.sirens):
        raise Refusal("UNKNOWN_DOSSIER", f"Dossier inconnu : {dossier_id}.")
    return item(entry, full=True)


@get("/dossiers", guards=[require(*ROLES)], summary="Lister les dossiers (filtres, pagination)")
async def list_dossiers(request: Request, state: State, status: Q = None, session: Q = None, departement: Q = None,
                        theme: Q = None, page: Q = None, page_size: Q = None) -> dict:
    filters, page_n, size = parse_query(dict(request.query_params))
    who = principal(request)
    found, total = select(state.intake.view.state, filters, lambda e: who.acts_for(e.dossier.sirens), page_n, size)
    return {"items": [item(e) for e in found], "total": total, "page": page_n, "page_size": size}


HANDLERS = [submit, amend, import_dossier, withdraw, upload_document, import_document, read_one, list_dossiers]
