"""What each route's OpenAPI operation says beyond what Litestar infers: the request body (the
JSON schema of the msgspec struct the route parses, with its checks), every status it may
answer (with the refusal codes of its 409s) and the bearer scheme — so that a client, or a
fuzzer, reaches the bodies and knows every answer.

Routes read their bodies themselves (`aap_platform.validation.parse`: one 422 naming every
field), so Litestar cannot infer them: `documented(...)` gives the route an `operation_class`
that completes the operation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
    SecurityScheme,
)

from aap_contract.checks import checked_type

BEARER = "bearer"
COMPONENTS = Components(
    security_schemes={
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="A signed JWT whose `role` claim is applicant, instructor, committee_member, "
            "budget_officer, auditor or admin (`aap token issue` locally; an OIDC provider in production).",
        )
    }
)

_ERROR = {
    "type": "object",
    "properties": {
        "status_code": {"type": "integer"},
        "detail": {"type": "string"},
        "extra": {},
        "request_id": {"type": "string"},
    },
}
_FIELD_ERRORS = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "status_code": {"type": "integer"},
        "detail": {"type": "string"},
        "extra": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


# A 503 (aap_platform.edge.bus_unavailable): the bus failed during the request.
_UNAVAILABLE = {
    "type": "object",
    "required": ["status_code", "code", "detail", "request_id"],
    "properties": {
        "status_code": {"type": "integer", "enum": [503]},
        "code": {
            "type": "string",
            "enum": ["NOT_RECORDED", "OUTCOME_UNKNOWN"],
            "description": "NOT_RECORDED: nothing was recorded, retry. OUTCOME_UNKNOWN: the command was "
            "sent and its acknowledgement lost: retry with the same Idempotency-Key (a keyed command is "
            "recorded once) or check before retrying.",
        },
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "idempotency_key": {"type": "string", "description": "the key to retry with (commands that take one)"},
    },
}
_KEY = Schema(type=OpenAPIType.STRING, min_length=1, max_length=200)
_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER), description="seconds to wait before retrying", required=True
)


def _key_header(assigned: bool) -> OpenAPIHeader:
    text = (
        "the key of the command (assigned by the server when the request had none)"
        if assigned
        else ("the request's key, when it had one")
    )
    return OpenAPIHeader(schema=_KEY, description=text)


def _key_parameter(assigned: bool) -> Parameter:
    text = (
        "Names the command: a retry with the same key (and the same body) is recorded once and answered "
        "as the first time, with `Idempotent-Replayed: true`; the same key with another body is refused "
        "(422). The key is the caller's own (two callers may use the same key)."
    )
    if assigned:
        text += " Without one, the server assigns one and returns it in the `Idempotency-Key` response header."
    return Parameter(name="Idempotency-Key", param_in="header", required=False, schema=_KEY, description=text)


def _refusal(codes: tuple[str, ...]) -> dict:
    code: dict[str, Any] = {"type": "string"}
    if codes:
        code["enum"] = list(codes)
    return {
        "anyOf": [
            {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": code, "message": {"type": "string"}},
            },
            _ERROR,
        ]
    }


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """The schema with every `$ref` to `#/$defs/…` replaced by its definition (no recursion in
    the contract's types), so that it stands alone inside the operation."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def body_schema(tp: type) -> dict:
    """The JSON schema of a request body: the struct with its input checks (patterns, bounds)."""
    schema = msgspec.json.schema(checked_type(tp))
    return _inline(schema, schema.get("$defs", {}))


def _response(description: str, schema: dict | None = None) -> OpenAPIResponse:
    content = {"application/json": OpenAPIMediaType(schema=schema)} if schema is not None else None  # type: ignore[arg-type]
    return OpenAPIResponse(description=description, content=content)


def documented(
    *,
    body: type | None = None,
    body_media: str = "application/json",
    refusals: tuple[str, ...] = (),
    not_found: tuple[str, ...] | None = None,
    public: bool = False,
    statuses: dict[int, str] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of a route decorator: its operation completed with the body, the
    statuses (401/403 unless public; 404 with `not_found` codes; 409 with `refusals`; 413, 415,
    422 when it reads a body; 431 and 503 always) and the bearer scheme.

    `idempotency_key`: the command takes an `Idempotency-Key` header, "optional" (none: no
    replay) or "assigned" (none: the server assigns one and returns it)."""
    keyed = idempotency_key is not None
    assigned = idempotency_key == "assigned"
    unavailable_headers: dict[str, Any] = {"Retry-After": _RETRY_AFTER}
    if keyed:
        unavailable_headers["Idempotency-Key"] = _key_header(assigned)
    extra: dict[str, OpenAPIResponse] = {
        "431": _response("headers too many or too large", _ERROR),
        "503": OpenAPIResponse(
            description="the bus or the call's stream is unavailable: NOT_RECORDED (nothing recorded) or "
            "OUTCOME_UNKNOWN (sent, acknowledgement lost"
            + ("; retry with the same Idempotency-Key)" if keyed else ")"),
            content={"application/json": OpenAPIMediaType(schema=_UNAVAILABLE)},  # type: ignore[arg-type]
            headers=unavailable_headers,
        ),
    }
    if not public:
        extra["401"] = _response("no token, or a bad or expired one", _ERROR)
        extra["403"] = _response("the token's role may not do this", _ERROR)
    if not_found is not None:
        extra["404"] = _response(
            "unknown (or not the applicant's): " + (", ".join(not_found) or "no such resource"), _refusal(not_found)
        )
    if refusals:
        extra["409"] = _response("refused by the rules: " + ", ".join(refusals), _refusal(refusals))
    if body is not None:
        extra["413"] = _response("body too large", _ERROR)
        extra["422"] = _response(
            "malformed input: every faulty field named"
            + ("; or the Idempotency-Key already used with another body" if keyed else ""),
            _FIELD_ERRORS,
        )
        if body_media != "application/json":
            extra["415"] = _response(f"the body must be {body_media}", _ERROR)
    for code, text in (statuses or {}).items():
        extra[str(code)] = _response(text, _ERROR)
    request_body = None
    if body is not None:
        schema = body_schema(body) if body is not bytes else {"type": "string", "format": "binary"}
        request_body = RequestBody(content={body_media: OpenAPIMediaType(schema=schema)}, required=True)  # type: ignore[arg-type]

    @dataclass
    class Documented(Operation):
        def __post_init__(self) -> None:
            self.responses = {**(self.responses or {}), **extra}
            self.responses.setdefault("400", _response("a parameter Litestar itself could not read", _ERROR))
            if request_body is not None:
                self.request_body = request_body
            self.security = None if public else [{BEARER: []}]
            if keyed:
                self.parameters = [*(self.parameters or []), _key_parameter(assigned)]
                for status, response in self.responses.items():
                    if status.startswith("2") and isinstance(response, OpenAPIResponse):
                        response.headers = {
                            **(response.headers or {}),
                            "Idempotency-Key": _key_header(assigned),
                            "Idempotent-Replayed": OpenAPIHeader(
                                schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
                                description="present: the first answer to this key (nothing new recorded)",
                            ),
                        }

    return {"operation_class": Documented}
