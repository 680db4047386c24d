"""The connector's HTTP API: the DN dossiers that could not be imported, and a pass on demand."""

from __future__ import annotations

from litestar import Request, get, post

from aap_platform.auth import require
from services.connector.handlers import Handlers

READERS = ("instructor", "auditor", "admin")
MAX_LISTED = 1000  # failed imports listed at most (the counts give them all)


def _handlers(request: Request) -> Handlers:
    return request.app.state.handlers


@get(
    "/imports",
    guards=[require(*READERS)],
    sync_to_thread=False,
    summary="Dossiers de Démarche Numérique : comptes, et ceux qui n'ont pas pu être importés, avec pourquoi",
)
def imports(request: Request) -> dict:
    h = _handlers(request)
    view = h.view.state if h.view is not None else None
    failures = (view.failures() if view is not None else [])[:MAX_LISTED]
    return {
        "counts": view.counts() if view is not None else {},
        "failures": [
            {
                "dossier_id": e.dossier_id,
                "number": e.number,
                "demarche": e.demarche,
                "kind": e.kind,
                "problems": e.problems,
                "modified_at": e.modified_at.isoformat() if e.modified_at else None,
            }
            for e in failures
        ],
        "sync": h.loop.as_dict() if h.loop is not None else None,
        "last_summary": h.loop.last.french() if h.loop is not None and h.loop.last is not None else None,
    }


@post(
    "/sync",
    guards=[require("admin")],
    status_code=202,
    sync_to_thread=False,
    summary="Lancer une synchronisation avec Démarche Numérique sans attendre la prochaine",
)
def sync_now(request: Request) -> dict:
    h = _handlers(request)
    if h.loop is None:
        return {"started": False, "message": "aucun jeton Démarche Numérique configuré (AAP_DN_TOKEN)"}
    h.loop.trigger()
    return {"started": True}


ROUTES = [imports, sync_now]
