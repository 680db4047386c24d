"""The intake's edge without the event store, for the benchmark only: `POST /dossiers` with
the same guard, the same middleware and the same validation (`parse_dossier`, i.e.
`aap_platform.validation.parse` on the Dossier plus the call's checks), then an answer of the same
shape — no event. Run: `uvicorn --factory bench.validate_app:create_app`."""

from __future__ import annotations

from litestar import Litestar, Request, Response, post
from litestar.plugins.prometheus import PrometheusConfig

from aap_contract.config import load_call
from aap_contract.refusal import Refusal
from aap_platform.auth import Verifier, principal, require
from aap_platform.errors import refusal_handler
from aap_platform.ids import new_id
from aap_platform.settings import Settings
from services.intake.http import WRITERS, _must_act_for
from services.intake.schemas import parse_dossier


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    call = load_call(settings.call)

    @post("/dossiers", guards=[require(*WRITERS)])
    async def validate(request: Request) -> Response:
        dossier = parse_dossier(await request.body(), call)
        _must_act_for(principal(request), dossier.sirens)
        return Response(
            {"dossier_id": new_id(), "session": call.session_for(call.window.opens), "status": "submitted"},
            status_code=201,
        )

    prometheus = PrometheusConfig(
        app_name="validate-only", prefix="aap_http", group_path=True, exclude=["/metrics", "/health"]
    )
    app = Litestar(
        route_handlers=[validate], middleware=[prometheus.middleware], exception_handlers={Refusal: refusal_handler}
    )
    app.state.verifier = Verifier.from_file(settings.jwks_file, audience=settings.jwt_audience)
    return app
