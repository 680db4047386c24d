"""The notifier's HTTP API: the public lauréats (JSON and SCDL CSV), the notifications' state."""

from __future__ import annotations

import re

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath

from aap_contract.events import OfficialDocumentIssued
from aap_contract.refusal import Refusal
from aap_platform import privacy
from aap_platform.auth import READERS, principal, require
from aap_platform.openapi import documented
from services.notifier import official
from services.notifier.domain import is_overdue
from services.notifier.handlers import NotifierHandlers
from services.notifier.publication import incomplete, laureates, scdl_rows, to_csv
from services.notifier.sender import Sender


def _sender(request: Request) -> Sender:
    return request.app.state.sender


@get(
    "/laureates",
    sync_to_thread=False,
    summary="Les lauréats de chaque session close (public)",
    **documented(public=True),
)
def public_laureates(request: Request) -> dict:
    sender = _sender(request)
    return laureates(sender.view.state, sender.runtime.call)


@get(
    "/laureates.csv",
    sync_to_thread=False,
    media_type="text/csv; charset=utf-8",
    summary="Les subventions attribuées, au format SCDL (public)",
    **documented(public=True),
)
def public_laureates_csv(request: Request) -> Response:
    """`?bom=1` (or `[publication] csv_bom = true`): UTF-8 with a byte-order mark, for Excel."""
    sender = _sender(request)
    call = sender.runtime.call
    asked = request.query_params.get("bom")
    bom = call.publication.csv_bom if asked is None else asked.lower() in ("1", "true", "oui", "yes")
    return Response(
        to_csv(scdl_rows(sender.view.state, call), bom=bom),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="subventions-{call.id}.csv"'},
    )


@get(
    "/laureates/incomplete",
    sync_to_thread=False,
    guards=[require(*READERS)],
    summary="Les subventions engagées que le fichier SCDL ne peut pas publier (SIRET ou RNA manquant)",
    **documented(),
)
def incomplete_publication(request: Request) -> dict:
    sender = _sender(request)
    items = incomplete(sender.view.state, sender.runtime.call)
    return {"items": items, "total": len(items)}


@get(
    "/notifications",
    guards=[require(*READERS)],
    summary="Les notifications : envoyées, en attente, en retard, bloquées",
    **documented(),
)
async def notifications(request: Request) -> dict:
    sender = _sender(request)
    view = sender.view
    now, items = sender.runtime.now(), []
    for n in sender.due():
        sent = view.state.sent.get(n.notification_id)
        items.append(
            {
                "notification_id": n.notification_id,
                "kind": n.kind,
                "session": n.session,
                "dossier_ids": list(sent.dossier_ids if sent else n.dossier_ids),
                "recipients": list(sent.recipients if sent else n.recipients),
                "message_id": sent.message_id if sent else None,
                "subject": sent.subject if sent else None,
                "sent_at": sent.sent_at.isoformat() if sent else None,
                "due_at": n.due_at.isoformat(),
                "overdue": sent is None and is_overdue(n, now),
                "attempts": sender.attempts.get(n.notification_id, 0) + (1 if sent else 0),
                "parked": sender.is_parked(n.notification_id),
                "last_error": None if sent else sender.last_error.get(n.notification_id),
            }
        )
    answer = {"items": items, **sender.counts()}
    if principal(request).role == "auditor":  # docs/personal-data.json: recipients masked for the auditor
        return privacy.mask(answer)
    return await privacy.reveal(sender.runtime.store, answer)


def _handlers(request: Request) -> NotifierHandlers:
    return request.app.state.handlers


DOCUMENT_ID = re.compile(r"s[0-9]{1,3}-(arrete|notification|non_selection)-[A-Za-z0-9_-]{1,200}")
OFFICIAL_READERS = require("instructor", "budget_officer", "auditor", "admin", "applicant")


def _issued(request: Request, document_id: str) -> OfficialDocumentIssued:
    """The recorded document, if the caller may see it (an applicant: its own dossiers only)."""
    issued = _sender(request).view.state.official.get(document_id) if DOCUMENT_ID.fullmatch(document_id) else None
    entry = _sender(request).view.state.dossiers.entries.get(issued.dossier_id) if issued else None
    if issued is None or entry is None or not principal(request).acts_for(entry.sirens):
        raise Refusal("UNKNOWN_DOCUMENT", "Aucun document officiel de ce nom.")
    return issued


@get(
    "/dossiers/{dossier_id:str}/official",
    guards=[OFFICIAL_READERS],
    sync_to_thread=False,
    summary="Les documents officiels d'une décision (arrêté, lettres)",
    **documented(not_found=("UNKNOWN_DOSSIER",)),
)
def official_of(request: Request, dossier_id: FromPath[str]) -> dict:
    view = _sender(request).view.state
    entry = view.dossiers.entries.get(dossier_id)
    if entry is None or not principal(request).acts_for(entry.sirens):
        raise Refusal("UNKNOWN_DOSSIER", "Dossier inconnu.")
    items = [msgspec.to_builtins(d) for d in view.official.values() if d.dossier_id == dossier_id]
    return {"dossier_id": dossier_id, "items": sorted(items, key=lambda d: d["document_id"])}


@get(
    "/official/{document_id:str}",
    guards=[OFFICIAL_READERS],
    summary="Télécharger un document officiel (PDF)",
    **documented(not_found=("UNKNOWN_DOCUMENT",)),
)
async def official_pdf(request: Request, document_id: FromPath[str]) -> Response:
    issued = _issued(request, document_id)
    handlers = _handlers(request)
    assert handlers.bucket is not None
    body = await handlers.bucket.get(issued.object_name)
    name = official.file_name(issued.kind, issued.reference)
    return Response(
        body, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@get(
    "/official/{document_id:str}/verify",
    guards=[require("auditor", "admin")],
    summary="Régénérer un document officiel depuis le journal et le comparer à l'empreinte enregistrée",
    **documented(not_found=("UNKNOWN_DOCUMENT",)),
)
async def official_verify(request: Request, document_id: FromPath[str]) -> dict:
    issued = _issued(request, document_id)
    again = await _handlers(request).regenerate(document_id)
    assert again is not None
    regenerated, _ = again
    return {
        "document_id": document_id,
        "reference": issued.reference,
        "recorded_sha256": issued.sha256,
        "regenerated_sha256": regenerated.sha256,
        "identical": regenerated.sha256 == issued.sha256,
    }


ROUTES = [
    public_laureates,
    public_laureates_csv,
    incomplete_publication,
    notifications,
    official_of,
    official_pdf,
    official_verify,
]
