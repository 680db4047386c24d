"""Wiring of the committee service: settings, runtime, the view, the routes. Nothing runs at
import; `create_app` builds the app and its lifespan connects. No reactor: the budget reacts
to ProjectSelected, the notifier to SessionClosed."""
from __future__ import annotations

from litestar import Litestar

from aap_platform.projection import Projection
from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.committee import metrics
from services.committee.commands import Committee
from services.committee.http import HANDLERS
from services.committee.view import (
    DECODE,
    TYPES,
    CommitteeView,
    evolve_view,
    initial_view,
)


def create_app(settings: Settings | None = None) -> Litestar:
    runtime = Runtime("committee", settings or Settings.from_env())
    projection: Projection[CommitteeView] = Projection("committee", initial_view(runtime.call), evolve_view,
                                                  types=TYPES, decode=DECODE)
    runtime.views.append(projection)

    async def on_start() -> None:
        metrics.register([s.number for s in runtime.call.sessions], lambda: projection.state)

    app = build_app(runtime, HANDLERS, title="AAP — comité de sélection", on_start=on_start)
    app.state.committee = Committee(runtime, projection)
    return app
