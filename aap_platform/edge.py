"""What every service does at its HTTP edge, whatever the route: bounded headers, security
headers and a request id on every response, and no unexplained 500 — an unexpected error is
logged with its request id and answered without details; known faults get their 4xx.

An answer tells the truth: a failure of the bus during a request (not connected, no answer,
timeout…) is a 503 with `Retry-After` (and the `Idempotency-Key` to retry with) that says
whether nothing was recorded (no append was sent: `NOT_RECORDED`) or the outcome is unknown (an
append was sent and its acknowledgement did not come back: `OUTCOME_UNKNOWN`)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import nats.errors
from litestar import Request, Response
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from nats.js.errors import APIError, ServerError, ServiceUnavailableError

from aap_platform.idempotency import HEADER as IDEMPOTENCY_KEY
from aap_platform.idempotency import STATE as IDEMPOTENCY_KEY_STATE
from aap_platform.store import ConcurrencyError, EventTooLarge, InvalidId, current_outcome, track_outcome

log = logging.getLogger(__name__)
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024  # all headers together
REQUEST_ID = "x-request-id"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
CSP_API = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# The interactive documentation (/schema/swagger…) loads its script and style from a CDN.
CSP_DOCS = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    b"connect-src 'self'; frame-ancestors 'none'",
)


def _reject(status: int, text: bytes):
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        start: Any = {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
        await send(start)
        body: Any = {"type": "http.response.body", "body": text}
        await send(body)

    return app


def edge_middleware(app: ASGIApp) -> ASGIApp:
    too_many = _reject(431, b'{"status_code":431,"detail":"en-t\\u00eates trop nombreux ou trop longs"}')

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = list(scope["headers"])
        if len(headers) > MAX_HEADERS or sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES:
            await too_many(scope, receive, send)
            return
        given = next((v for k, v in headers if k == REQUEST_ID.encode()), b"")
        _request_id(scope, given)
        track_outcome()  # what this request sends to the stream, for a truthful 503
        await app(scope, receive, send)

    return middleware


def _request_id(scope: Any, given: bytes = b"") -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        ok = 0 < len(given) <= 64 and given.isascii() and given.isalnum()
        state["request_id"] = given.decode() if ok else secrets.token_hex(8)
    return state["request_id"]


async def security_headers(message: Message, scope: Scope) -> None:
    """`before_send` hook of the app: every response, routed or not (404, 405), gets them."""
    if message["type"] == "http.response.start":
        csp = CSP_DOCS if scope.get("path", "").startswith("/schema") else CSP_API
        headers = list(message.get("headers", []))
        present = {bytes(k).lower() for k, _ in headers}
        extra = [*SECURITY_HEADERS, csp, (REQUEST_ID.encode(), _request_id(scope).encode())]
        # a service that sets one itself (the console's own CSP for its pages) keeps it
        message["headers"] = headers + [(k, v) for k, v in extra if k not in present]


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


def invalid_id_handler(_: Request, exc: InvalidId) -> Response:
    return Response({"code": "UNKNOWN", "message": "Identifiant inconnu."}, status_code=404)


def too_large_handler(request: Request, exc: EventTooLarge) -> Response:
    log.warning("request %s refused: %s", request_id(request), exc)
    return Response({"code": "TOO_LARGE", "message": f"Enregistrement refusé : {exc}."}, status_code=413)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    from litestar.exceptions import HTTPException

    if isinstance(exc, HTTPException):  # Litestar's own 4xx (and 5xx it chose) keep their answer
        body: dict = {"status_code": exc.status_code, "detail": exc.detail}
        if getattr(exc, "extra", None):
            body["extra"] = exc.extra
        if exc.status_code >= 500:
            log.error(
                "request %s %s %s: %s %s",
                request_id(request),
                request.method,
                request.url.path,
                exc.status_code,
                exc.detail,
            )
        return Response(body, status_code=exc.status_code, headers=getattr(exc, "headers", None) or {})
    if is_bus_failure(exc):
        return bus_unavailable(request, exc)
    log.error("request %s %s %s failed (500)", request_id(request), request.method, request.url.path, exc_info=exc)
    return Response(
        {"status_code": 500, "detail": "erreur interne", "request_id": request_id(request)}, status_code=500
    )


RETRY_AFTER_SECONDS = 2
NOT_RECORDED = "NOT_RECORDED"
OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"


def is_bus_failure(exc: BaseException) -> bool:
    """A failure of the bus, not of the request: the connection is down or closing, a request
    got no answer in time (a read, an append, a view waited for), JetStream unavailable, or too
    much contention to decide. Other JetStream API errors are bugs (500)."""
    if isinstance(exc, APIError):
        return isinstance(exc, ServiceUnavailableError | ServerError)
    return isinstance(exc, nats.errors.Error | TimeoutError | ConnectionError | ConcurrencyError)


def _what_failed(exc: BaseException) -> str:
    if isinstance(exc, ConcurrencyError):
        return "trop de modifications simultanées"
    if isinstance(exc, nats.errors.Error | ConnectionError):
        return "bus de messages indisponible"
    return "délai dépassé (bus de messages lent ou vue en retard)"


def bus_unavailable(request: Request, exc: Exception, detail: str | None = None) -> Response:
    """503 with `Retry-After`: nothing recorded, or an unknown outcome when an append was sent
    during the request; the `Idempotency-Key` to retry with when the command has one. Logged
    with its cause and the request id."""
    outcome = current_outcome()
    unknown = outcome is not None and outcome.sent
    key = request.scope.get("state", {}).get(IDEMPOTENCY_KEY_STATE)
    if unknown:
        code = OUTCOME_UNKNOWN
        message = (
            "issue inconnue : réessayez avec la même clé" if key else "issue inconnue : vérifiez avant de réessayer"
        )
    else:
        code = NOT_RECORDED
        message = "non enregistré : réessayez"
    text = _what_failed(exc) if detail is None else detail
    log.error(
        "request %s %s %s: 503 %s (%s: %r)",
        request_id(request),
        request.method,
        request.url.path,
        code,
        type(exc).__name__,
        exc,
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    body: dict[str, Any] = {
        "status_code": 503,
        "code": code,
        "detail": f"{text} ; {message}",
        "request_id": request_id(request),
    }
    if key:
        headers[IDEMPOTENCY_KEY] = key
        body["idempotency_key"] = key
    return Response(body, status_code=503, headers=headers)
