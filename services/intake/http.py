"""Intake's HTTP API: request -> handler call -> response, and reads from the view. Routes
translate; the handlers decide and record."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

from litestar import Request, Response, get, post, put
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import FromPath, FromQuery

from aap_contract.conformity import valid_id
from aap_contract.dossier import Dossier
from aap_contract.refusal import Refusal
from aap_platform import idempotency, privacy
from aap_platform.auth import ROLES, Principal, principal, require
from aap_platform.openapi import documented
from services.intake import documents
from services.intake.handlers import IntakeHandlers
from services.intake.schemas import (
    ImportBody,
    WithdrawBody,
    item,
    parse_dossier,
    parse_import,
    parse_query,
    parse_withdraw,
)
from services.intake.view import select

Q = FromQuery[str | None]  # query parameters are checked by parse_query (422 naming each)
WRITERS = ("applicant", "instructor", "admin")
CONTACT_READERS = ("applicant", "instructor", "budget_officer", "admin")  # others: without contacts
IMPORTERS = ("connector", "admin")
IMPORTED_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")  # a NATS subject token: no '.', '*', '>' or space


def _imported_id(dossier_id: str) -> str:
    if not IMPORTED_ID.fullmatch(dossier_id):
        raise ValidationException(
            "identifiant invalide",
            status_code=422,
            extra=[{"field": "dossier_id", "message": "1 à 100 caractères parmi A-Z, a-z, 0-9, _ et -"}],
        )
    return dossier_id


def _handlers(request: Request) -> IntakeHandlers:
    return request.app.state.handlers


def _known(dossier_id: str) -> str:
    """An id that could not be a dossier's (it would not be one subject token) is unknown: 404,
    before anything is read or stored."""
    if not valid_id(dossier_id):
        raise Refusal("UNKNOWN_DOSSIER", "Dossier inconnu.")
    return dossier_id


def _must_act_for(who: Principal, sirens: list[str]) -> None:
    if not who.acts_for(sirens):
        raise PermissionDeniedException("vous ne pouvez agir que pour vos propres structures (SIREN)")


@post(
    "/dossiers",
    guards=[require(*WRITERS)],
    summary="Déposer un dossier",
    **documented(body=Dossier, refusals=("WINDOW",), idempotency_key="assigned"),
)
async def submit(request: Request) -> Response:
    intake = _handlers(request)
    dossier = parse_dossier(await request.body(), intake.runtime.call)
    who = principal(request)
    _must_act_for(who, dossier.sirens)
    key, assigned = idempotency.key(request, assign=True)
    assert key is not None
    first, replayed = await intake.submit(dossier, who, key, assigned=assigned)
    headers = idempotency.replayed_headers(key, replayed)
    return Response(
        {"dossier_id": first.dossier_id, "session": first.session, "status": "submitted"},
        status_code=201,
        headers=headers,
    )


@put(
    "/dossiers/{dossier_id:str}",
    guards=[require(*WRITERS)],
    summary="Modifier un dossier (remplace son contenu)",
    **documented(body=Dossier, refusals=("WINDOW", "LOCKED"), not_found=("UNKNOWN_DOSSIER",)),
)
async def amend(request: Request, dossier_id: FromPath[str]) -> dict:
    _known(dossier_id)
    intake = _handlers(request)
    dossier = parse_dossier(await request.body(), intake.runtime.call)
    who = principal(request)
    _must_act_for(who, dossier.sirens)
    event = await intake.amend(dossier_id, dossier, who)
    return {"dossier_id": dossier_id, "session": event.data.session, "status": "submitted"}


@put(
    "/imports/{dossier_id:str}",
    guards=[require(*IMPORTERS)],
    summary="Importer un dossier d'une autre plateforme (dépôt, modification, ou rien s'il est inchangé)",
    **documented(body=ImportBody, refusals=("WINDOW", "LOCKED"), not_found=("UNKNOWN_DOSSIER",)),
)
async def import_dossier(request: Request, dossier_id: FromPath[str]) -> dict:
    """The rules apply at the instant the applicant acted on the other platform (`submitted_at`)."""
    intake = _handlers(request)
    dossier_id = _imported_id(dossier_id)
    body = parse_import(await request.body(), intake.runtime.call)
    event, state = await intake.import_dossier(dossier_id, body.dossier, principal(request), body.submitted_at)
    action = "unchanged" if event is None else ("submitted" if event.type == "DossierSubmitted" else "amended")
    return {
        "dossier_id": dossier_id,
        "action": action,
        "session": state.session if event is None else event.data.session,
    }


@post(
    "/dossiers/{dossier_id:str}/withdraw",
    guards=[require(*WRITERS, "connector")],  # the connector: a dossier deleted in Démarche Numérique
    status_code=200,
    summary="Retirer un dossier",
    **documented(body=WithdrawBody, refusals=("LOCKED",), not_found=("UNKNOWN_DOSSIER",)),
)
async def withdraw(request: Request, dossier_id: FromPath[str]) -> dict:
    _known(dossier_id)
    body = parse_withdraw(await request.body())
    await _handlers(request).withdraw(dossier_id, body.reason, principal(request))
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


@put(
    "/dossiers/{dossier_id:str}/document",
    guards=[require(*WRITERS)],
    request_max_body_size=None,
    summary="Déposer le document descriptif (corps application/pdf)",
    **documented(
        body=bytes, body_media="application/pdf", refusals=("LOCKED", "QUOTA"), not_found=("UNKNOWN_DOSSIER",)
    ),
)
async def upload_document(request: Request, dossier_id: FromPath[str], filename: Q = None) -> dict:
    _known(dossier_id)
    return await _attach(request, dossier_id, filename, None)


@put(
    "/imports/{dossier_id:str}/document",
    guards=[require(*IMPORTERS)],
    request_max_body_size=None,
    summary="Importer le document descriptif d'un dossier importé, à l'instant `at` de l'autre plateforme",
    **documented(
        body=bytes,
        body_media="application/pdf",
        refusals=("LOCKED", "QUOTA"),
        not_found=("UNKNOWN_DOSSIER",),
        statuses={422: "at is no instant with its offset"},
    ),
)
async def import_document(request: Request, dossier_id: FromPath[str], at: Q = None, filename: Q = None) -> dict:
    try:
        instant = datetime.fromisoformat(at) if at else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValidationException(
            "paramètre invalide : at",
            status_code=422,
            extra=[{"field": "at", "message": "instant ISO 8601 avec fuseau attendu"}],
        )
    return await _attach(request, _imported_id(dossier_id), filename, instant)


async def _attach(request: Request, dossier_id: str, filename: str | None, at: datetime | None) -> dict:
    intake = _handlers(request)
    content_type = request.headers.get("content-type")
    if (content_type or "").split(";")[0].strip().lower() == documents.PDF:
        body = await _read_limited(request, intake.max_document_bytes)
    else:
        body = b""
    await asyncio.to_thread(documents.check_pdf, content_type, body, intake.max_document_bytes)
    command = await intake.attach_document(dossier_id, filename, body, principal(request), at)
    return {
        "dossier_id": dossier_id,
        "filename": command.filename,
        "size": command.size,
        "sha256": command.sha256,
        "object_name": command.object_name,
    }


@get(
    "/dossiers/{dossier_id:str}/document",
    guards=[require(*ROLES)],
    summary="Lire le document descriptif (PDF)",
    media_type=documents.PDF,
    **documented(not_found=("UNKNOWN_DOSSIER",)),
)
async def read_document(request: Request, dossier_id: FromPath[str]) -> Response[bytes]:
    intake = _handlers(request)
    entry = intake.view.state.get(_known(dossier_id))
    if entry is None or not principal(request).acts_for(entry.dossier.sirens):
        raise Refusal("UNKNOWN_DOSSIER", f"Dossier inconnu : {dossier_id}.")
    if entry.document_sha256 is None or intake.documents is None:
        raise NotFoundException("Aucun document déposé pour ce dossier.")
    body = await intake.documents.get(documents.object_name(dossier_id, entry.document_sha256))
    return Response(
        body, media_type=documents.PDF, headers={"content-disposition": f'inline; filename="dossier-{dossier_id}.pdf"'}
    )


@get(
    "/dossiers/{dossier_id:str}",
    guards=[require(*ROLES)],
    summary="Lire un dossier",
    **documented(not_found=("UNKNOWN_DOSSIER",)),
)
async def read_one(request: Request, dossier_id: FromPath[str]) -> dict:
    entry = _handlers(request).view.state.get(_known(dossier_id))
    if entry is None or not principal(request).acts_for(entry.dossier.sirens):
        raise Refusal("UNKNOWN_DOSSIER", f"Dossier inconnu : {dossier_id}.")
    shown = item(entry, full=True)
    if principal(request).role not in CONTACT_READERS:  # docs/personal-data.json: who reads contacts
        return privacy.mask(shown)
    return await privacy.reveal(_handlers(request).runtime.store, shown)


@get(
    "/dossiers",
    guards=[require(*ROLES)],
    summary="Lister les dossiers (filtres, pagination)",
    **documented(statuses={422: "a malformed filter or page"}),
)
async def list_dossiers(
    request: Request,
    status: Q = None,
    session: Q = None,
    departement: Q = None,
    theme: Q = None,
    page: Q = None,
    page_size: Q = None,
) -> dict:
    query = {
        "status": status,
        "session": session,
        "departement": departement,
        "theme": theme,
        "page": page,
        "page_size": page_size,
    }
    filters, page_n, size = parse_query({k: v for k, v in query.items() if v is not None})
    who = principal(request)
    found, total = select(
        _handlers(request).view.state, filters, lambda e: who.acts_for(e.dossier.sirens), page_n, size
    )
    return {"items": [item(e) for e in found], "total": total, "page": page_n, "page_size": size}


ROUTES = [
    submit,
    amend,
    import_dossier,
    withdraw,
    upload_document,
    import_document,
    read_document,
    read_one,
    list_dossiers,
]
