"""How the domain's refusals are answered over HTTP: 404 for an unknown target, 409 otherwise,
with the body `{"code", "message"}`."""

from __future__ import annotations

from litestar import Request, Response

from aap_contract.refusal import Refusal


def refusal_status(exc: Refusal) -> int:
    return 404 if exc.not_found else 409


def refusal_handler(_: Request, exc: Refusal) -> Response:
    return Response({"code": exc.code, "message": exc.message}, status_code=refusal_status(exc))
