"""The committee's HTTP API (ARCHITECTURE.md): request -> command -> event, and the reads."""

from __future__ import annotations

import re

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery

from aap_contract.envelope import Event
from aap_contract.events import DraftLine, Scores
from aap_contract.refusal import Refusal
from aap_platform import idempotency
from aap_platform.auth import principal, require
from aap_platform.openapi import documented
from aap_platform.validation import parse
from services.committee import drafts, present
from services.committee.domain import Decide
from services.committee.handlers import CommitteeHandlers, UnknownSession
from services.committee.ranking import ranking
from services.committee.schemas import (
    DecisionBody,
    DraftBody,
    LineBody,
    ReviewBody,
    decision_errors,
    draft_errors,
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
DRAFT_NOT_FOUND = (*NOT_FOUND, "UNKNOWN_DRAFT")
DRAFT_REFUSALS = ("DRAFT_ADOPTED", "SESSION_CLOSED", "SESSION_NOT_OPEN", "NOT_ON_AGENDA", "GRANT_RANGE")


def _committee(request: Request) -> CommitteeHandlers:
    return request.app.state.handlers


def _recorded(event: Event) -> dict:
    data = {k: v for k, v in ((f, getattr(event.data, f)) for f in event.data.__struct_fields__)}
    return {"event_id": event.event_id, "type": event.type, **data}


def _answer(body: dict, key: str | None, replayed: bool) -> Response:
    """A recorded command's answer (201), with its idempotency key and whether it is a replay."""
    return Response(body, status_code=201, headers=idempotency.replayed_headers(key, replayed))


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
    committee = c.runtime.call.committee
    names = {m.id: m.name for m in committee.members}
    rows = ranking(c.view.session(n), c.view.index.entries, committee.criteria, names)
    return {"session": n, "criteria": c.runtime.call.committee.criteria, "items": rows}


@post(
    "/sessions/{n:int}/reviews",
    guards=[REVIEW],
    status_code=201,
    **documented(body=ReviewBody, refusals=REFUSALS, not_found=NOT_FOUND, idempotency_key="optional"),
)
async def post_review(request: Request, n: FromPath[int]) -> Response:
    c = _committee(request)
    c.check_session(n)
    body = parse(await request.body(), ReviewBody, extra=review_errors(c.runtime.call))
    who = principal(request)
    if who.role == "committee_member" and who.member_id != body.member_id:
        raise PermissionDeniedException("un membre du comité ne peut noter qu'en son propre nom")
    s = body.scores
    scores = Scores(s.diagnosis, s.co_construction, s.roadmap, s.free_software)
    key, _ = idempotency.key(request)
    event, replayed = await c.review(n, body.dossier_id, body.member_id, scores, who.subject, key)
    return _answer(_recorded(event), key, replayed)


@post(
    "/sessions/{n:int}/decisions",
    guards=[DECIDE],
    status_code=201,
    **documented(body=DecisionBody, refusals=REFUSALS, not_found=NOT_FOUND, idempotency_key="optional"),
)
async def post_decision(request: Request, n: FromPath[int]) -> Response:
    c = _committee(request)
    c.check_session(n)
    body = parse(await request.body(), DecisionBody, extra=decision_errors)
    command = Decide(n, body.dossier_id, body.decision, body.granted_cents, body.motivation)
    key, _ = idempotency.key(request)
    event, replayed = await c.decide(command, principal(request).subject, key)
    return _answer({**_recorded(event), "decision": body.decision}, key, replayed)


@post(
    "/sessions/{n:int}/close",
    guards=[DECIDE],
    status_code=201,
    **documented(refusals=REFUSALS, not_found=NOT_FOUND, idempotency_key="optional"),
)
async def post_close(request: Request, n: FromPath[int]) -> Response:
    c = _committee(request)
    key, _ = idempotency.key(request)
    event, replayed = await c.close(n, principal(request).subject, key)
    return _answer(_recorded(event), key, replayed)


# --- programmation drafts ---------------------------------------------------------------------

DRAFT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _draft_id(session: int, draft_id: str) -> str:
    """A draft id is checked before it names anything (a subject, a lookup): else unknown."""
    if not DRAFT_ID.fullmatch(draft_id):
        raise Refusal("UNKNOWN_DRAFT", f"Aucun projet de programmation de ce nom pour la session {session}.")
    return draft_id


def _draft(c: CommitteeHandlers, session: int, draft_id: str) -> dict:
    state = c.view.drafts[draft_id]
    facts = c.view.facts(c.runtime.now())
    evaluation = drafts.evaluate(state.lines.items(), c.view.session(session), facts)
    return {
        "draft_id": state.draft_id,
        "session": state.session,
        "name": state.name,
        "author": state.author,
        "proposed": state.proposed,
        "adopted": state.adopted,
        "outcomes": [msgspec.to_builtins(o) for o in state.outcomes],
        "refused": evaluation.refused,
        **msgspec.to_builtins(evaluation),
    }


@get(
    "/sessions/{n:int}/drafts",
    guards=[READ],
    summary="Les projets de programmation d'une session",
    **documented(not_found=NOT_FOUND),
)
async def list_drafts(request: Request, n: FromPath[int]) -> dict:
    c = _committee(request)
    c.check_session(n)
    ids = [d.draft_id for d in c.view.drafts.values() if d.session == n]
    return {"session": n, "items": [_draft(c, n, i) for i in ids]}


@post(
    "/sessions/{n:int}/drafts",
    guards=[DECIDE],
    status_code=201,
    summary="Créer un projet de programmation",
    **documented(body=DraftBody, refusals=DRAFT_REFUSALS, not_found=NOT_FOUND),
)
async def create_draft(request: Request, n: FromPath[int]) -> dict:
    c = _committee(request)
    c.check_session(n)
    body = parse(await request.body(), DraftBody, extra=draft_errors)
    lines = [DraftLine(line.dossier_id, line.granted_cents) for line in body.lines]
    who = principal(request).subject
    draft_id = await c.create_draft(n, body.name.strip(), who, lines, body.propose, body.departement_cap_cents)
    return _draft(c, n, draft_id)


@get(
    "/sessions/{n:int}/drafts/compare",
    guards=[READ],
    summary="Comparer deux projets de programmation",
    **documented(not_found=DRAFT_NOT_FOUND, statuses={422: "a draft to compare is missing"}),
)
async def compare_drafts(request: Request, n: FromPath[int], left: FromQuery[str], right: FromQuery[str]) -> dict:
    c = _committee(request)
    sides = []
    for draft_id in (left, right):
        c.check_draft(n, _draft_id(n, draft_id))
        sides.append(_draft(c, n, draft_id))
    amounts = [{line["dossier_id"]: line for line in side["lines"]} for side in sides]
    rows = []
    for dossier_id in dict.fromkeys([*amounts[0], *amounts[1]]):
        a, b = amounts[0].get(dossier_id), amounts[1].get(dossier_id)
        title = (a or b or {}).get("title", dossier_id)
        left_cents = a["granted_cents"] if a else None
        right_cents = b["granted_cents"] if b else None
        rows.append(
            {
                "dossier_id": dossier_id,
                "title": title,
                "left_cents": left_cents,
                "right_cents": right_cents,
                "difference_cents": (right_cents or 0) - (left_cents or 0),
            }
        )
    return {"session": n, "left": sides[0], "right": sides[1], "rows": rows}


@get(
    "/sessions/{n:int}/drafts/{draft_id:str}",
    guards=[READ],
    summary="Un projet de programmation, évalué",
    **documented(not_found=DRAFT_NOT_FOUND),
)
async def get_draft(request: Request, n: FromPath[int], draft_id: FromPath[str]) -> dict:
    c = _committee(request)
    c.check_draft(n, _draft_id(n, draft_id))
    return _draft(c, n, draft_id)


@put(
    "/sessions/{n:int}/drafts/{draft_id:str}/lines/{dossier_id:str}",
    guards=[DECIDE],
    summary="Fixer le montant d'une ligne d'un projet",
    **documented(body=LineBody, refusals=DRAFT_REFUSALS, not_found=DRAFT_NOT_FOUND),
)
async def set_draft_line(
    request: Request, n: FromPath[int], draft_id: FromPath[str], dossier_id: FromPath[str]
) -> dict:
    c = _committee(request)
    body = parse(await request.body(), LineBody)
    await c.set_line(n, _draft_id(n, draft_id), dossier_id, body.granted_cents, principal(request).subject)
    return _draft(c, n, draft_id)


@delete(
    "/sessions/{n:int}/drafts/{draft_id:str}/lines/{dossier_id:str}",
    guards=[DECIDE],
    status_code=200,
    summary="Retirer une ligne d'un projet",
    **documented(refusals=DRAFT_REFUSALS, not_found=DRAFT_NOT_FOUND),
)
async def remove_draft_line(
    request: Request, n: FromPath[int], draft_id: FromPath[str], dossier_id: FromPath[str]
) -> dict:
    c = _committee(request)
    await c.remove_line(n, _draft_id(n, draft_id), dossier_id, principal(request).subject)
    return _draft(c, n, draft_id)


@post(
    "/sessions/{n:int}/drafts/{draft_id:str}/adopt",
    guards=[DECIDE],
    status_code=200,
    summary="Adopter un projet : ses sélections sont décidées une à une",
    **documented(refusals=(*DRAFT_REFUSALS, *REFUSALS), not_found=DRAFT_NOT_FOUND),
)
async def adopt_draft(request: Request, n: FromPath[int], draft_id: FromPath[str]) -> dict:
    c = _committee(request)
    outcomes = await c.adopt(n, _draft_id(n, draft_id), principal(request).subject)
    return {
        "draft_id": draft_id,
        "recorded": [msgspec.to_builtins(o) for o in outcomes if o.code is None],
        "refused": [msgspec.to_builtins(o) for o in outcomes if o.code is not None],
    }


ROUTES = [
    list_sessions,
    get_session,
    get_ranking,
    post_review,
    post_decision,
    post_close,
    list_drafts,
    create_draft,
    compare_drafts,
    get_draft,
    set_draft_line,
    remove_draft_line,
    adopt_draft,
]
