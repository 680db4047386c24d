"""Wiring of the console: `uvicorn --factory services.console.app:create_app --port 8006`.

Settings beyond the common ones (aap_platform.settings), from the environment:
- AAP_INTAKE_URL … AAP_NOTIFIER_URL: the services' base URLs (default http://127.0.0.1:8001 … 8005);
- AAP_CONSOLE_SIGNING_KEY: the ES256 private key (PEM) that signs the agents' tokens to the services;
  its public half must be in the services' JWKS (default: the development key `<data dir>/keys/jwt-private.pem`);
- AAP_CONSOLE_SECRET: the session cookie's key (hex, 32 bytes; default: derived from the signing key,
  which every instance of the console has, so that a session opened on one instance is valid on the
  others; without a signing key file, made once in `<data dir>/keys/`);
- AAP_CONSOLE_PUBLIC_URL: the address the agents use (default http://127.0.0.1:8006); https makes the
  cookies Secure;
- AAP_CONSOLE_DSFR_DIR: the DSFR's `dist` folder (default: services/console/node_modules/@gouvfr/dsfr/dist);
- AAP_OIDC_DISCOVERY_URL, AAP_OIDC_CLIENT_ID, AAP_OIDC_CLIENT_SECRET (AAP_OIDC_SCOPES): the OpenID provider
  (ProConnect). Without a discovery URL the console offers the local sign-in page (development only).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import Message, Scope

from aap_contract.config import Console, ConsoleUser
from aap_contract.labels import plural
from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.console import consumers, http
from services.console.handlers import Handlers, Services
from services.console.http import ROUTES
from services.console.oidc import OidcClient
from services.console.view import projection

SERVICE = "console"
HERE = Path(__file__).resolve().parent
DSFR_DIST = HERE / "node_modules" / "@gouvfr" / "dsfr" / "dist"  # `make install` (npm ci) puts it there
DEFAULT_URLS = {"intake": 8001, "eligibility": 8002, "committee": 8003, "budget": 8004, "notifier": 8005}
SESSION_HOURS = 8


def _secret(env: dict[str, str], data_dir: Path, signing_key: Path | None = None) -> bytes:
    raw = env.get("AAP_CONSOLE_SECRET")
    if raw:
        key = bytes.fromhex(raw)
        if len(key) != 32:
            raise ValueError("AAP_CONSOLE_SECRET must be 32 bytes in hexadecimal")
        return key
    if signing_key is not None and signing_key.is_file():  # shared by every instance (a hash of it, its own purpose)
        return hashlib.sha256(b"aap-console-session-key:" + signing_key.read_bytes()).digest()
    path = data_dir / "keys" / "console-session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


def local_agents(configured: Console, call: Any) -> Console:
    """The agent table; for a call that has none, one agent per role (and per committee member), for
    the local sign-in page only."""
    if configured.users:
        return configured
    users = [
        ConsoleUser(email=f"{role}@agents.local", name=label, role=role)
        for role, label in (
            ("instructor", "Instruction"),
            ("budget_officer", "Budget"),
            ("auditor", "Audit"),
            ("admin", "Administration"),
        )
    ]
    users += [
        ConsoleUser(email=f"{m.id}@agents.local", name=m.name, role="committee_member", member_id=m.id)
        for m in call.committee.members
    ]
    return Console(users=users)


def csp(form_origin: str | None) -> str:
    form = "'self'" + (f" {form_origin}" if form_origin else "")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action {form}; frame-ancestors 'none'"
    )


def security_headers(policy: str, tls: bool):
    headers = {
        "content-security-policy": policy,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
    }
    if tls:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"

    async def before_send(message: Message, scope: Scope) -> None:
        """On every answer, the 404 of an unknown path included (route middleware would miss it)."""
        if message["type"] == "http.response.start":
            h = MutableScopeHeaders.from_message(message)
            for k, v in headers.items():
                h[k] = v
            if not scope.get("path", "").startswith("/static/"):
                h["cache-control"] = "no-store"

    return before_send


def _french_filters(engine: JinjaTemplateEngine) -> None:
    """`{{ n | accord("dossier retenu", "dossiers retenus") }}`: French agreement, not « dossier(s) »."""
    engine.engine.filters["accord"] = plural


def create_app(settings: Settings | None = None, env: dict[str, str] | None = None) -> Litestar:
    env = dict(os.environ if env is None else env)
    settings = settings or Settings.from_env(env)
    runtime = Runtime(SERVICE, settings)
    view = projection(runtime.call)
    runtime.views.append(view)
    public_url = env.get("AAP_CONSOLE_PUBLIC_URL", "http://127.0.0.1:8006").rstrip("/")
    tls = public_url.startswith("https://")
    urls = {
        name: env.get(f"AAP_{name.upper()}_URL", f"http://127.0.0.1:{port}").rstrip("/")
        for name, port in DEFAULT_URLS.items()
    }
    key = Path(env.get("AAP_CONSOLE_SIGNING_KEY") or settings.data_dir / "keys" / "jwt-private.pem")
    services = Services(urls, key, audience=settings.jwt_audience)
    oidc = None
    discovery = env.get("AAP_OIDC_DISCOVERY_URL")
    if discovery:
        oidc = OidcClient(
            discovery,
            env.get("AAP_OIDC_CLIENT_ID", ""),
            env.get("AAP_OIDC_CLIENT_SECRET", ""),
            redirect_uri=public_url + "/auth/callback",
            scopes=env.get("AAP_OIDC_SCOPES", "openid email"),
        )
        agents = runtime.call.console
    else:
        agents = local_agents(runtime.call.console, runtime.call)
    handlers = Handlers(services=services, view=view, runtime=runtime, agents=agents, oidc=oidc, public_url=public_url)
    runtime.reactor = consumers.subscription(handlers)

    form_origin = None
    if discovery:
        from httpx import URL

        u = URL(discovery)
        form_origin = f"{u.scheme}://{u.netloc.decode()}"
    secret = _secret(env, settings.data_dir, key)
    session = CookieBackendConfig(
        secret=secret, key="aap_console", max_age=SESSION_HOURS * 3600, httponly=True, secure=tls, samesite="lax"
    )
    csrf = CSRFConfig(
        secret=hashlib.sha256(b"aap-console-csrf:" + secret).hexdigest(),  # not the session's own key
        cookie_name="aap_csrf",
        cookie_secure=tls,
        cookie_httponly=True,
        cookie_samesite="strict",
        exclude=["/auth/callback"],
    )

    async def close_client() -> None:
        await services.close()

    def on_error(request: Request, exc: Exception) -> Response[Any]:
        return http.error_page(request, exc)

    dsfr = Path(env.get("AAP_CONSOLE_DSFR_DIR") or DSFR_DIST)
    static = [
        create_static_files_router(
            path="/static/dsfr", directories=[dsfr], name="dsfr", include_in_schema=False, send_as_attachment=False
        ),
        create_static_files_router(
            path="/static", directories=[HERE / "static"], name="static", include_in_schema=False
        ),
    ]
    app = build_app(
        runtime,
        [*ROUTES, *static],
        title="AAP — console des agents",
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_french_filters
        ),
        csrf_config=csrf,
        middleware=[session.middleware],
        before_send=[security_headers(csp(form_origin), tls)],
        exception_handlers={
            HTTPException: on_error,
            Exception: on_error,
            http.NotSignedIn: on_error,
            http.Forbidden: on_error,
        },
        on_shutdown=[close_client],
    )
    app.state.handlers = handlers
    return app
