"""The console's pages: each route translates a request into reads (the console's own view, or the
owning service's API under the agent's identity) or into one call to the owning service, and renders a
French page. No rule is decided here; a refusal shows the service's own message beside the form."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from aap_contract.entry import DossierEntry
from aap_contract.labels import departement_label
from aap_contract.money import format_euros
from aap_contract.refusal import Refusal
from services.console import labels
from services.console.domain import ROLE_LABELS, Agent, SignIn, decide, initial_state
from services.console.handlers import Handlers, ServiceError
from services.console.oidc import OidcError
from services.console.view import OFFICIAL_KINDS, ConsoleView

log = logging.getLogger(__name__)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PAGE_SIZE = 50
AGENDA_PAGE = 20  # dossiers of an agenda shown with their forms on one page
NEAR_DEADLINE = timedelta(days=30)
NAV = [
    ("/", "Tableau de bord", "dashboard"),
    ("/dossiers", "Dossiers", "dossiers"),
    ("/sessions", "Comité", "sessions"),
    ("/budget", "Budget", "budget"),
    ("/notifications", "Notifications", "notifications"),
    ("/audit", "Audit", "audit"),
    ("/laureates", "Lauréats", "laureates"),
]


class NotSignedIn(Exception):
    """The page needs a signed-in agent: the answer is a redirect to the sign-in page."""


class Forbidden(Exception):
    """The agent's role may not open this page."""


def _h(request: Request) -> Handlers:
    return request.app.state.handlers


def _view(request: Request) -> ConsoleView:
    return _h(request).view.state


def _session(request: Request) -> dict[str, Any]:
    """The session, or an empty one where the session middleware did not run (an unknown path)."""
    found = request.scope.get("session")
    return found if isinstance(found, dict) else {}


def current_agent(request: Request) -> Agent | None:
    raw = _session(request).get("agent")
    if not isinstance(raw, dict):
        return None
    try:
        return msgspec.convert(raw, Agent)
    except msgspec.ValidationError:
        return None


def need(request: Request, page: str) -> Agent:
    agent = current_agent(request)
    if agent is None:
        raise NotSignedIn()
    if not agent.may_see(page):
        raise Forbidden()
    return agent


def _flash(request: Request, message: str) -> None:
    request.set_session({**_session(request), "flash": message})


def page(
    request: Request, template: str, heading: str, current: str = "", status: int = 200, **context: Any
) -> Template:
    h = _h(request)
    agent = current_agent(request)
    call = h.runtime.call
    nav = [
        (href, label, key)
        for href, label, key in NAV
        if key == "laureates" or (agent is not None and agent.may_see(key))
    ]
    flash = _session(request).pop("flash", None)
    return Template(
        template_name=template,
        status_code=status,
        context={
            "heading": heading,
            "current": current,
            "agent": agent,
            "nav": nav,
            "local_mode": h.local_mode,
            "call_title": call.call.title,
            "region": call.call.region,
            "flash": flash,
            "call": call,
            "euros": format_euros,
            "status_label": lambda s: labels.STATUS_LABELS.get(s, s),
            "status_class": lambda s: labels.STATUS_CLASSES.get(s, ""),
            "labels": labels,
            "theme_label": lambda t: f"{t} — {call.themes[t]}" if t in call.themes else t,
            "dept_label": lambda d: departement_label(d, call.departements),
            "when": lambda at: _when(at, call.tz),
            "role_labels": ROLE_LABELS,
            "member_name": lambda m: found.name if (found := call.member(m)) else m,
            **context,
        },
    )


def _when(at: Any, tz: Any) -> str:
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            return at
    if not isinstance(at, datetime):
        return ""
    return at.astimezone(tz).strftime("%d/%m/%Y à %H:%M")


# ---------------------------------------------------------------- sign-in


def _sign_in(request: Request, email: str, id_token: str | None = None) -> Agent:
    h = _h(request)
    agent = decide(SignIn(email=email), initial_state(), h.agents)
    request.clear_session()
    request.set_session(
        {
            "agent": msgspec.to_builtins(agent),
            **({"id_token": id_token} if id_token else {}),
            "flash": f"Bienvenue, {agent.name}.",
        }
    )
    return agent


@get("/login", name="login")
async def login_page(request: Request) -> Template:
    h = _h(request)
    return page(request, "login.html", "Se connecter", agents=h.agents.users, oidc=h.oidc is not None)


@post("/login")
async def local_login(request: Request) -> Response[Any]:
    h = _h(request)
    if not h.local_mode:
        raise NotFoundException()
    form = await request.form()
    email = str(form.get("email", ""))
    try:
        _sign_in(request, email)
    except Refusal as refusal:
        return page(
            request, "login.html", "Se connecter", status=403, agents=h.agents.users, oidc=False, error=refusal.message
        )
    return Redirect("/", status_code=303)


@get("/auth/oidc")
async def oidc_begin(request: Request) -> Response[Any]:
    h = _h(request)
    if h.oidc is None:
        raise NotFoundException()
    try:
        url, pending = await h.oidc.begin()
    except OidcError as exc:
        return page(request, "login.html", "Se connecter", status=503, agents=[], oidc=True, error=str(exc))
    request.set_session({**_session(request), "oidc": pending})
    return Redirect(url, status_code=302)


@get("/auth/callback")
async def oidc_callback(request: Request) -> Response[Any]:
    h = _h(request)
    if h.oidc is None:
        raise NotFoundException()
    pending = _session(request).pop("oidc", None)
    state, code = request.query_params.get("state", ""), request.query_params.get("code", "")
    error = request.query_params.get("error")
    if error:
        message = "Connexion annulée ou refusée par le fournisseur d'identité."
    elif not isinstance(pending, dict) or not state or not code or state != pending.get("state"):
        message = "Connexion refusée : cette réponse ne correspond à aucune demande de connexion en cours (state)."
    else:
        try:
            claims, id_token = await h.oidc.finish(code, pending)
            _sign_in(request, str(claims["email"]), id_token)
            return Redirect("/", status_code=303)
        except OidcError as exc:
            message = str(exc)
        except Refusal as refusal:
            message = refusal.message
    return page(request, "login.html", "Se connecter", status=400, agents=[], oidc=True, error=message)


@post("/logout")
async def logout(request: Request) -> Response[Any]:
    h = _h(request)
    id_token = _session(request).get("id_token")
    request.clear_session()
    if h.oidc is not None:
        url = await h.oidc.logout_url(id_token, h.public_url.rstrip("/") + "/login")
        if url:
            return Redirect(url, status_code=303)
    return Redirect("/login", status_code=303)


# ---------------------------------------------------------------- dashboard


@get("/")
async def dashboard(request: Request) -> Template:
    agent = need(request, "dashboard")
    h = _h(request)
    view, call = _view(request), h.runtime.call
    entries = view.index.entries.values()
    by_status = {s: 0 for s in labels.STATUS_LABELS}
    by_session: dict[int, dict[str, int]] = {s.number: {} for s in call.sessions}
    for e in entries:
        by_status[e.status] = by_status.get(e.status, 0) + 1
        row = by_session.setdefault(e.agenda_session, {})
        row[e.status] = row.get(e.status, 0) + 1
    errors = []
    try:
        budget = await h.budget(agent)
        reservations = await h.reservations(agent)
    except ServiceError as exc:
        budget, reservations = None, []
        errors.append(exc.message)
    try:
        sessions = await h.sessions(agent) if agent.may_see("sessions") else []
    except ServiceError as exc:
        sessions = []
        errors.append(exc.message)
    now = h.runtime.now()
    deadline = call.budget.commitment_deadline
    near = now <= deadline <= now + NEAR_DEADLINE
    todo: dict[str, Any] = {
        "to_assess": by_status.get("submitted", 0),
        "closable": [s for s in sessions if s["open"] and not s["closed"] and s["decided"] == s["agenda_size"]],
        "undecided": [s for s in sessions if s["open"] and not s["closed"] and s["decided"] < s["agenda_size"]],
        "reserved_near_deadline": [r for r in reservations if r["status"] == "reserved"] if near else [],
        "to_review": {},
    }
    if agent.member_id:  # a committee member: the dossiers of each open session it has not reviewed yet
        for s in todo["undecided"]:
            try:
                agenda = (await h.session(agent, s["number"]))["agenda"]
            except ServiceError as exc:
                errors.append(exc.message)
                continue
            mine = view.reviews
            todo["to_review"][s["number"]] = sum(
                1 for d in agenda if agent.member_id not in mine.get(d["dossier_id"], {}).get(str(s["number"]), {})
            )
    return page(
        request,
        "dashboard.html",
        "Tableau de bord",
        "dashboard",
        by_status=by_status,
        by_session=by_session,
        budget=budget,
        todo=todo,
        deadline=deadline,
        total=len(view.index.entries),
        error=" ".join(errors) or None,
        sessions=sessions,
    )


# ---------------------------------------------------------------- dossiers


def _track_of(theme: str, tracks: dict[str, list[str]]) -> str | None:
    top = theme.split(".")[0]
    return next((t for t, themes in tracks.items() if top in themes), None)


def _filters(request: Request) -> tuple[dict[str, Any], list[str]]:
    """The list's filters, each checked against the call's own values; a wrong one is dropped and named."""
    call = _h(request).runtime.call
    q = request.query_params
    got: dict[str, Any] = {}
    dropped = []
    checks: dict[str, Any] = {
        "status": labels.STATUS_LABELS,
        "departement": call.departements,
        "theme": call.themes,
        "track": call.tracks,
        "sort": labels.SORTS,
        "order": {"asc": 1, "desc": 1},
        "session": {str(s.number): 1 for s in call.sessions},
    }
    for name, allowed in checks.items():
        raw = q.get(name)
        if raw in (None, ""):
            continue
        if raw in allowed:
            got[name] = int(raw) if name == "session" else raw
        else:
            dropped.append(name)
    raw_page = q.get("page", "1")
    got["page"] = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 100_000 else 1
    return got, dropped


def _select(request: Request, f: dict[str, Any]) -> list[DossierEntry]:
    call = _h(request).runtime.call
    found = []
    for e in _view(request).index.entries.values():
        if "status" in f and e.status != f["status"]:
            continue
        if "session" in f and e.agenda_session != f["session"]:
            continue
        if "departement" in f and e.departement != f["departement"]:
            continue
        if "theme" in f and not (e.theme == f["theme"] or e.theme.startswith(f["theme"] + ".")):
            continue
        if "track" in f and _track_of(e.theme, call.tracks) != f["track"]:
            continue
        found.append(e)
    keys = {
        "submitted_at": lambda e: (e.submitted_at, e.dossier_id),
        "title": lambda e: (e.title.lower(), e.dossier_id),
        "status": lambda e: (e.status, e.dossier_id),
        "requested": lambda e: (e.requested_cents, e.dossier_id),
        "departement": lambda e: (e.departement, e.dossier_id),
    }
    found.sort(key=keys[f.get("sort", "submitted_at")], reverse=f.get("order") == "desc")
    return found


@get("/dossiers")
async def dossiers(request: Request) -> Template:
    need(request, "dossiers")
    f, dropped = _filters(request)
    found = _select(request, f)
    pages = max(1, -(-len(found) // PAGE_SIZE))
    n = min(f["page"], pages)
    query = {k: v for k, v in f.items() if k != "page"}
    return page(
        request,
        "dossiers.html",
        "Dossiers",
        "dossiers",
        items=found[(n - 1) * PAGE_SIZE : n * PAGE_SIZE],
        total=len(found),
        page_n=n,
        pages=pages,
        f=f,
        query=urlencode(query),
        csv_url="/dossiers.csv" + (f"?{urlencode(query)}" if query else ""),
        error=("Filtre ignoré (valeur inconnue) : " + ", ".join(dropped)) if dropped else None,
        track_of=lambda t: labels.TRACKS.get(_track_of(t, _h(request).runtime.call.tracks) or "", ""),
    )


@get("/dossiers.csv")
async def dossiers_csv(request: Request) -> Response[str]:
    need(request, "dossiers")
    call = _h(request).runtime.call
    f, _ = _filters(request)
    out = io.StringIO()
    w = csv.writer(out, delimiter=";")
    w.writerow(
        [
            "identifiant",
            "titre",
            "statut",
            "relevé",
            "session",
            "département",
            "thématique",
            "parcours",
            "coût global (€)",
            "montant demandé (€)",
            "montant accordé (€)",
            "montant engagé (€)",
            "déposé le",
        ]
    )
    for e in _select(request, f):
        w.writerow(
            [
                e.dossier_id,
                e.title,
                labels.STATUS_LABELS.get(e.status, e.status),
                e.session,
                e.agenda_session,
                call.departements.get(e.departement, e.departement),
                e.theme,
                labels.TRACKS.get(_track_of(e.theme, call.tracks) or "", ""),
                _plain_euros(e.global_cost_cents),
                _plain_euros(e.requested_cents),
                _plain_euros(e.granted_cents),
                _plain_euros(e.committed_cents),
                e.submitted_at.isoformat(),
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="dossiers.csv"'},
    )


def _plain_euros(cents: int | None) -> str:
    return "" if cents is None else f"{cents // 100},{cents % 100:02d}"


def _dossier_id(raw: str) -> str:
    if not UUID.match(raw):
        raise NotFoundException("Dossier inconnu.")
    return raw


@get("/dossiers/{dossier_id:str}")
async def dossier(request: Request, dossier_id: FromPath[str]) -> Template:
    agent = need(request, "dossiers")
    h = _h(request)
    dossier_id = _dossier_id(dossier_id)
    entry = _view(request).index.entries.get(dossier_id)
    if entry is None:
        raise NotFoundException("Dossier inconnu.")
    errors = []
    try:
        full = await h.dossier(agent, dossier_id)
    except ServiceError as exc:
        full = None
        errors.append(exc.message)
    ranking_row = None
    if agent.may_see("sessions"):
        try:
            ranking = await h.ranking(agent, entry.agenda_session)
            ranking_row = next((r for r in ranking["items"] if r.get("dossier_id") == dossier_id), None)
        except ServiceError:
            ranking_row = None
    try:
        reservations = [r for r in await h.reservations(agent) if r["dossier_id"] == dossier_id]
    except ServiceError as exc:
        reservations = []
        errors.append(exc.message)
    notifications = []
    if agent.may_see("notifications"):
        try:
            notifications = [
                n for n in (await h.notifications(agent))["items"] if dossier_id in n.get("dossier_ids", [])
            ]
        except ServiceError as exc:
            errors.append(exc.message)
    official: list[dict[str, Any]] = []
    if agent.may_see("official"):
        try:
            official = await h.official_of(agent, dossier_id)
        except ServiceError as exc:
            errors.append(exc.message)
    failing = {f.code: f.message for f in entry.failures}
    rules = [(code, label, failing.get(code)) for code, label in labels.RULES.items()]
    timeline = _view(request).timeline.get(dossier_id, [])
    return page(
        request,
        "dossier.html",
        entry.title,
        "dossiers",
        entry=entry,
        full=full and full.get("dossier"),
        rules=rules,
        ranking=ranking_row,
        reservations=reservations,
        notifications=notifications,
        timeline=timeline,
        error=" ".join(errors) or None,
        reviews=_view(request).reviews.get(dossier_id, {}),
        document=_view(request).documents.get(dossier_id),
        official=official,
        official_kinds=OFFICIAL_KINDS,
        breadcrumb=[("/", "Tableau de bord"), ("/dossiers", "Dossiers"), ("", entry.title)],
    )


@get("/dossiers/{dossier_id:str}/document.pdf")
async def dossier_document(request: Request, dossier_id: FromPath[str]) -> Response[bytes]:
    agent = need(request, "dossiers")
    dossier_id = _dossier_id(dossier_id)
    body = await _h(request).document(agent, dossier_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="dossier-{dossier_id}.pdf"'},
    )


OFFICIAL_ID = re.compile(r"^s[0-9]{1,3}-(arrete|notification|non_selection)-[A-Za-z0-9_-]{1,200}$")


@get("/official/{document_id:str}")
async def official_document(request: Request, document_id: FromPath[str]) -> Response[bytes]:
    agent = need(request, "official")
    if not OFFICIAL_ID.match(document_id):
        raise NotFoundException("Document inconnu.")
    body = await _h(request).official_pdf(agent, document_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{document_id}.pdf"'},
    )


# ---------------------------------------------------------------- committee


def _session_n(request: Request, n: int) -> int:
    if _h(request).runtime.call.session(n) is None:
        raise NotFoundException("Session inconnue.")
    return n


@get("/sessions")
async def sessions(request: Request) -> Template:
    agent = need(request, "sessions")
    h = _h(request)
    try:
        items, error = await h.sessions(agent), None
    except ServiceError as exc:
        items, error = [], exc.message
    return page(request, "sessions.html", "Comité de sélection", "sessions", items=items, error=error)


async def _session_page(
    request: Request,
    agent: Agent,
    n: int,
    status: int = 200,
    error: str | None = None,
    form_error: dict[str, str] | None = None,
    kept: dict | None = None,
) -> Template:
    h = _h(request)
    detail = await h.session(agent, n)
    ranking = await h.ranking(agent, n)
    members = h.runtime.call.committee.members
    agenda = detail["agenda"]
    pages = max(1, -(-len(agenda) // AGENDA_PAGE))
    raw = request.query_params.get("page", "1")
    page_n = min(int(raw), pages) if raw.isdigit() and int(raw) > 0 else 1
    focus = next((i for i, d in enumerate(agenda) if kept and d["dossier_id"] == kept.get("dossier_id")), None)
    if focus is not None:  # a refused form: the page that holds it
        page_n = focus // AGENDA_PAGE + 1
    still_open = [d for d in agenda if not d["decision"] or d["funding"] == "pending"]
    return page(
        request,
        "session.html",
        f"Session {n} du comité",
        "sessions",
        status=status,
        s=detail,
        cards=agenda[(page_n - 1) * AGENDA_PAGE : page_n * AGENDA_PAGE],
        ranked=ranking["items"][(page_n - 1) * AGENDA_PAGE : page_n * AGENDA_PAGE],
        page_n=page_n,
        pages=pages,
        still_open=still_open,
        ranking=ranking,
        members=members,
        error=error,
        form_error=form_error or {},
        kept=kept or {},
        may_review=agent.role in ("committee_member", "instructor", "admin"),
        may_decide=agent.role in ("instructor", "admin"),
        breadcrumb=[("/", "Tableau de bord"), ("/sessions", "Comité"), ("", f"Session {n}")],
    )


@get("/sessions/{n:int}")
async def session(request: Request, n: FromPath[int]) -> Template:
    agent = need(request, "sessions")
    n = _session_n(request, n)
    return await _session_page(request, agent, n)


def _score(raw: Any, optional: bool) -> int | None:
    if optional and raw in ("", "na", None):
        return None
    if raw in ("0", "1", "2", "3"):
        return int(raw)
    raise ValueError


async def _act(
    request: Request,
    agent: Agent,
    n: int,
    action: Awaitable[None],
    done: str,
    anchor: str,
    kept: dict | None = None,
) -> Response[Any]:
    """One call to the committee (`action`, a handler's); refused, the page again with the service's
    message beside the form and what was typed in it (`kept`)."""
    try:
        await action
    except ServiceError as exc:
        return await _session_page(
            request,
            agent,
            n,
            status=exc.status if exc.status in (409, 422, 403) else 502,
            form_error={anchor: exc.message},
            error=exc.message,
            kept=kept,
        )
    _flash(request, done)
    return Redirect(f"/sessions/{n}", status_code=303)


@post("/sessions/{n:int}/reviews")
async def post_review(request: Request, n: FromPath[int]) -> Response[Any]:
    agent = need(request, "sessions")
    n = _session_n(request, n)
    form = await request.form()
    dossier_id = str(form.get("dossier_id", ""))
    member_id = agent.member_id if agent.role == "committee_member" else str(form.get("member_id", ""))
    if not UUID.match(dossier_id) or _h(request).runtime.call.member(member_id or "") is None:
        return await _session_page(request, agent, n, status=422, error="Dossier ou membre du comité inconnu.")
    try:
        scores = {c: _score(form.get(c), c == "free_software") for c in labels.CRITERIA}
    except ValueError:
        return await _session_page(
            request,
            agent,
            n,
            status=422,
            error="Chaque critère se note de 0 à 3.",
            form_error={f"review-{dossier_id}": "Chaque critère se note de 0 à 3."},
        )
    return await _act(
        request,
        agent,
        n,
        _h(request).review(agent, n, {"dossier_id": dossier_id, "member_id": member_id, "scores": scores}),
        "Avis enregistré.",
        f"review-{dossier_id}",
    )


def parse_euros(raw: str) -> int | None:
    """'30 000', '30000,50' or '30 000.5' euros as cents; None if it is not an amount."""
    text = raw.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "").replace(",", ".")
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", text):
        return None
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


@post("/sessions/{n:int}/decisions")
async def post_decision(request: Request, n: FromPath[int]) -> Response[Any]:
    agent = need(request, "sessions")
    n = _session_n(request, n)
    form = await request.form()
    dossier_id, decision = str(form.get("dossier_id", "")), str(form.get("decision", ""))
    if not UUID.match(dossier_id):
        return await _session_page(request, agent, n, status=422, error="Dossier inconnu.")
    anchor = f"decision-{dossier_id}"
    body: dict[str, Any] = {"dossier_id": dossier_id, "decision": decision}
    if decision == "select":
        cents = parse_euros(str(form.get("granted", "")))
        if cents is None:
            message = "Indiquez le montant accordé en euros (par exemple 30 000 ou 30 000,50)."
            return await _session_page(request, agent, n, status=422, error=message, form_error={anchor: message})
        body["granted_cents"] = cents
    elif decision == "reject":
        body["motivation"] = str(form.get("motivation", "")).strip()
    elif decision != "defer":
        message = "Choisissez une décision : retenir, ne pas retenir ou ajourner."
        return await _session_page(request, agent, n, status=422, error=message, form_error={anchor: message})
    kept = {
        "dossier_id": dossier_id,
        "decision": decision,
        "granted": str(form.get("granted", ""))[:40],
        "motivation": str(form.get("motivation", ""))[:2000],
    }
    return await _act(request, agent, n, _h(request).decide(agent, n, body), "Décision enregistrée.", anchor, kept)


@post("/sessions/{n:int}/close")
async def post_close(request: Request, n: FromPath[int]) -> Response[Any]:
    agent = need(request, "sessions")
    n = _session_n(request, n)
    return await _act(request, agent, n, _h(request).close(agent, n), f"Session {n} close.", "close")


# ---------------------------------------------------------------- budget


async def _budget_page(request: Request, agent: Agent, status: int = 200, error: str | None = None) -> Template:
    h = _h(request)
    figures = await h.budget(agent)
    reservations = await h.reservations(agent)
    titles = {i: e.title for i, e in _view(request).index.entries.items()}
    return page(
        request,
        "budget.html",
        "Budget de l'appel",
        "budget",
        status=status,
        b=figures,
        reservations=reservations,
        titles=titles,
        error=error,
        may_commit=agent.role in ("budget_officer", "admin"),
        deadline=h.runtime.call.budget.commitment_deadline,
    )


@get("/budget")
async def budget(request: Request) -> Template:
    agent = need(request, "budget")
    return await _budget_page(request, agent)


@post("/budget/commitments")
async def post_commitment(request: Request) -> Response[Any]:
    agent = need(request, "budget")
    form = await request.form()
    body = {"dossier_id": str(form.get("dossier_id", "")), "legal_reference": str(form.get("legal_reference", ""))}
    if not UUID.match(body["dossier_id"]):
        return await _budget_page(request, agent, status=422, error="Dossier inconnu.")
    try:
        await _h(request).commit(agent, body)
    except ServiceError as exc:
        return await _budget_page(
            request, agent, status=exc.status if exc.status in (409, 422, 403) else 502, error=exc.message
        )
    _flash(request, "Engagement juridique enregistré.")
    return Redirect("/budget", status_code=303)


# ---------------------------------------------------------------- notifications, lauréats


@get("/notifications")
async def notifications(request: Request) -> Template:
    agent = need(request, "notifications")
    found = await _h(request).notifications(agent)
    titles = {i: e.title for i, e in _view(request).index.entries.items()}
    return page(request, "notifications.html", "Notifications", "notifications", n=found, titles=titles)


@get("/laureates")
async def laureates(request: Request) -> Template:
    found = await _h(request).laureates()
    return page(request, "laureates.html", "Lauréats de l'appel", "laureates", sessions=found.get("sessions", {}))


@get("/laureates.csv")
async def laureates_csv(request: Request) -> Response[str]:
    text = await _h(request).laureates_csv()
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="laureats-scdl.csv"'},
    )


# ---------------------------------------------------------------- audit


@get("/audit")
async def audit(request: Request) -> Template:
    need(request, "audit")
    h = _h(request)
    q = request.query_params
    verdict = None
    if q.get("verify") == "1":
        from aap.audit.log import read_stream
        from aap.audit.verify import verify

        records = [r async for r in read_stream(h.runtime.store)]
        verdict = verify(records)
    dossier_id, as_of_raw, timeline, as_of, error = q.get("dossier", ""), q.get("as_of", ""), None, None, None
    if dossier_id:
        if not UUID.match(dossier_id) or dossier_id not in _view(request).index.entries:
            error = "Dossier inconnu."
        else:
            if as_of_raw:
                try:
                    as_of = datetime.fromisoformat(as_of_raw)
                    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=h.runtime.call.tz)
                except ValueError:
                    error = "Date invalide : utilisez le sélecteur de date et d'heure."
            steps = _view(request).timeline.get(dossier_id, [])
            timeline = [s for s in steps if as_of is None or s.at <= as_of]
    dossiers_list = sorted(_view(request).index.entries.values(), key=lambda e: e.title.lower())
    return page(
        request,
        "audit.html",
        "Audit du journal",
        "audit",
        verdict=verdict,
        timeline=timeline,
        dossier_id=dossier_id,
        as_of=as_of_raw,
        dossiers=dossiers_list,
        error=error,
        events=_view(request).events,
    )


@get("/audit/export.jsonl")
async def audit_export(request: Request) -> Response[bytes]:
    need(request, "audit")
    from aap.audit.log import read_stream

    lines = [msgspec.json.encode(r) async for r in read_stream(_h(request).runtime.store)]
    return Response(
        b"\n".join(lines) + b"\n",
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="journal.jsonl"'},
    )


ROUTES = [
    login_page,
    local_login,
    oidc_begin,
    oidc_callback,
    logout,
    dashboard,
    dossiers,
    dossiers_csv,
    dossier,
    dossier_document,
    official_document,
    sessions,
    session,
    post_review,
    post_decision,
    post_close,
    budget,
    post_commitment,
    notifications,
    laureates,
    laureates_csv,
    audit,
    audit_export,
]


def error_page(request: Request, exc: Exception) -> Response[Any]:
    """Every failure as a French page: never a bare 500."""
    if isinstance(exc, NotSignedIn):
        return Redirect("/login", status_code=303)
    if isinstance(exc, Forbidden):
        return page(
            request, "error.html", "Accès refusé", status=403, message="Votre rôle ne donne pas accès à cette page."
        )
    if isinstance(exc, ServiceError):
        return page(
            request,
            "error.html",
            "Service indisponible",
            status=exc.status if exc.status >= 400 else 502,
            message=exc.message,
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        title = {404: "Page introuvable", 403: "Accès refusé", 405: "Action non permise"}.get(status, "Requête refusée")
        message = {
            404: "La page ou l'élément demandé n'existe pas.",
            403: "La demande a été refusée (jeton de sécurité du formulaire absent ou périmé : rechargez la page).",
        }.get(status, "La demande n'a pas pu être traitée.")
        return page(request, "error.html", title, status=status, message=message)
    log.exception("console: unexpected error on %s %s", request.method, request.url.path)
    return page(
        request,
        "error.html",
        "Erreur inattendue",
        status=500,
        message="Une erreur inattendue est survenue ; elle a été consignée. Réessayez dans un instant.",
    )
