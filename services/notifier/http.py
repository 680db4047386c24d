"""The notifier's HTTP API: the public lauréats (JSON and SCDL CSV), the notifications' state."""

from __future__ import annotations

from litestar import Request, Response, get

from aap_platform.auth import READERS, require
from aap_platform.openapi import documented
from services.notifier.domain import is_overdue
from services.notifier.publication import laureates, scdl_rows, to_csv
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
    return laureates(_sender(request).view.state)


@get(
    "/laureates.csv",
    sync_to_thread=False,
    media_type="text/csv; charset=utf-8",
    summary="Les subventions attribuées, au format SCDL (public)",
    **documented(public=True),
)
def public_laureates_csv(request: Request) -> Response:
    sender = _sender(request)
    call = sender.runtime.call
    return Response(
        to_csv(scdl_rows(sender.view.state, call)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="subventions-{call.id}.csv"'},
    )


@get(
    "/notifications",
    sync_to_thread=False,
    guards=[require(*READERS)],
    summary="Les notifications : envoyées, en attente, en retard, bloquées",
    **documented(),
)
def notifications(request: Request) -> dict:
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
    return {"items": items, **sender.counts()}


ROUTES = [public_laureates, public_laureates_csv, notifications]
