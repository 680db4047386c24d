"""Wiring of the committee service: settings, runtime, the view, the routes. Nothing runs at
import; `create_app` builds the app and its lifespan connects."""

from __future__ import annotations

from litestar import Litestar

from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.committee import consumers, metrics
from services.committee.handlers import CommitteeHandlers
from services.committee.http import ROUTES
from services.committee.view import projection as view_projection


def create_app(settings: Settings | None = None) -> Litestar:
    runtime = Runtime("committee", settings or Settings.from_env(), seals=True)  # it closes the sessions: it seals
    projection = view_projection(runtime.call)
    runtime.views.append(projection)
    runtime.reactor = consumers.subscription()
    handlers = CommitteeHandlers(runtime, projection)

    async def on_start() -> None:
        metrics.register([s.number for s in runtime.call.sessions], lambda: projection.state)

    app = build_app(runtime, ROUTES, title="AAP — comité de sélection", on_start=on_start)
    app.state.handlers = handlers
    return app
