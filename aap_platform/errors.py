"""How the domain's refusals are answered over HTTP: 404 for an unknown target, 409 otherwise,
with the body `{"code", "message"}`."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from aap_contract.refusal import Refusal
from aap_platform.edge import bus_unavailable, request_id

log = logging.getLogger(__name__)


def refusal_status(exc: Refusal) -> int:
    return 404 if exc.not_found else 409


def refusal_handler(_: Request, exc: Refusal) -> Response:
    return Response({"code": exc.code, "message": exc.message}, status_code=refusal_status(exc))


# Litestar's own answers (an unknown route, a wrong method, a path parameter of the wrong type…)
# are in English: said in French, same status, same shape ({"status_code", "detail", "extra"?}).
_FRENCH_DETAILS = {
    "Not Found": "adresse inconnue",
    "Method Not Allowed": "méthode non autorisée pour cette adresse",
    "Bad Request": "requête invalide",
    "Unauthorized": "authentification requise (jeton Bearer)",
    "Forbidden": "accès refusé",
    "Request Entity Too Large": "corps de requête trop volumineux",
    "Unsupported Media Type": "type de contenu non pris en charge",
    "Internal Server Error": "erreur interne du service",
    "Service Unavailable": "service indisponible",
    "Too Many Requests": "trop de requêtes",
}


def _french_extra(extra: Any) -> Any:
    from aap_platform.validation import french_validation_error

    if not isinstance(extra, list):
        return extra
    out = []
    for item in extra:
        if isinstance(item, dict) and isinstance(item.get("message"), str) and item["message"].startswith("Expected"):
            item = {**item, "message": french_validation_error(Exception(item["message"]))}
        out.append(item)
    return out


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail
    if detail.startswith("Validation failed for "):
        extra = exc.extra if isinstance(exc.extra, list) else []
        keys = [str(e["key"]) for e in extra if isinstance(e, dict) and e.get("key")]
        detail = "paramètres invalides" + (f" : {', '.join(keys)}" if keys else "")
    else:
        detail = _FRENCH_DETAILS.get(detail, detail)
    if exc.status_code == 503:  # a service that cannot answer now (a view behind the log…)
        return bus_unavailable(request, exc, detail)
    if exc.status_code >= 500:
        log.error(
            "request %s %s %s: %s %s", request_id(request), request.method, request.url.path, exc.status_code, detail
        )
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": detail}
    if exc.extra:
        body["extra"] = _french_extra(exc.extra)
    return Response(body, status_code=exc.status_code, headers=exc.headers)
