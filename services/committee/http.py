"""The committee's HTTP API (ARCHITECTURE.md): request -> command -> event, and the reads."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath

from aap_contract.envelope import Event
from aap_contract.events import Scores
from aap_platform.auth import principal, require
from aap_platform.openapi import documented
from aap_platform.validation import parse
from services.committee import present
from services.committee.domain import Decide
from services.committee.handlers import CommitteeHandlers, UnknownSession
from services.committee.ranking import ranking
from services.committee.schemas import (
    DecisionBody,
    ReviewBody,
    decision_errors,
    review_errors,
)

READ = require("instructor", "committee_member", "auditor", "admin")
DECIDE = require("instructor", "admin")
REVIEW = require("committee_member", "instructor", "admin")
REFUSALS = (
    "SESSION_NOT_OPEN",
    "SESSION_CLOSED",
    "NOT_ON_AGENDA",
    "ALREADY_DECIDED",
    "LAST_SESSION",
    "GRANT_RANGE",
    "ENVELOPE_EXHAUSTED",
    "OPEN_ITEMS",
)
NOT_FOUND = ("UNKNOWN_SESSION", "UNKNOWN_DOSSIER")


def _committee(request: Request) -> CommitteeHandlers:
    return request.app.state.handlers


def _recorded(event: Event) -> dict:
    data = {k: v for k, v in ((f, getattr(event.data, f)) for f in event.data.__struct_fields__)}
    return {"event_id": event.event_id, "type": event.type, **data}


@get("/sessions", guards=[READ], **documented())
async def list_sessions(request: Request) -> dict:
    c = _committee(request)
    now = c.runtime.now()
    return {"items": [present.summary(c.view, s, now) for s in c.runtime.call.sessions]}


@get("/sessions/{n:int}", guards=[READ], **documented(not_found=("UNKNOWN_SESSION",)))
async def get_session(request: Request, n: FromPath[int]) -> dict:
    c = _committee(request)
    session = c.runtime.call.session(n)
    if session is None:
        raise UnknownSession(n)
    return present.detail(c.view, session, c.runtime.now())


@get("/sessions/{n:int}/ranking", guards=[READ], **documented(not_found=("UNKNOWN_SESSION",)))
async def get_ranking(request: Request, n: FromPath[int]) -> dict:
    c = _committee(request)
    c.check_session(n)
    rows = ranking(c.view.session(n), c.view.index.entries, c.runtime.call.committee.criteria)
    return {"session": n, "criteria": c.runtime.call.committee.criteria, "items": rows}


@post(
    "/sessions/{n:int}/reviews",
    guards=[REVIEW],
    status_code=201,
    **documented(body=ReviewBody, refusals=REFUSALS, not_found=NOT_FOUND),
)
async def post_review(request: Request, n: FromPath[int]) -> dict:
    c = _committee(request)
    c.check_session(n)
    body = parse(await request.body(), ReviewBody, extra=review_errors(c.runtime.call))
    who = principal(request)
    if who.role == "committee_member" and who.member_id != body.member_id:
        raise PermissionDeniedException("un membre du comité ne peut noter qu'en son propre nom")
    s = body.scores
    scores = Scores(s.diagnosis, s.co_construction, s.roadmap, s.free_software)
    return _recorded(await c.review(n, body.dossier_id, body.member_id, scores, who.subject))


@post(
    "/sessions/{n:int}/decisions",
    guards=[DECIDE],
    status_code=201,
    **documented(body=DecisionBody, refusals=REFUSALS, not_found=NOT_FOUND),
)
async def post_decision(request: Request, n: FromPath[int]) -> dict:
    c = _committee(request)
    c.check_session(n)
    body = parse(await request.body(), DecisionBody, extra=decision_errors)
    command = Decide(n, body.dossier_id, body.decision, body.granted_cents, body.motivation)
    event = await c.decide(command, principal(request).subject)
    return {**_recorded(event), "decision": body.decision}


@post("/sessions/{n:int}/close", guards=[DECIDE], status_code=201, **documented(refusals=REFUSALS, not_found=NOT_FOUND))
async def post_close(request: Request, n: FromPath[int]) -> dict:
    c = _committee(request)
    return _recorded(await c.close(n, principal(request).subject))


ROUTES = [list_sessions, get_session, get_ranking, post_review, post_decision, post_close]
