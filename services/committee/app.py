"""Wiring of the committee service: settings, runtime, the view, the routes. Nothing runs at
import; `create_app` builds the app and its lifespan connects. No reactor: the budget reacts
to ProjectSelected, the notifier to SessionClosed."""
from __future__ import annotations

from litestar import Litestar

from services.committee import metrics
from services.committee.commands import Committee
from services.committee.http import HANDLERS
from services.committee.view import CommitteeView, evolve_view, initial_view
from shared.codec import Event
from shared.projection import Projection
from shared.service import Runtime, build_app
from shared.settings import Settings


class MeasuredProjection(Projection[CommitteeView]):
    """Refreshes the gauges after each live event; the evolve itself stays pure (audits
    replay it), and a replay at start-up is measured once, when caught up."""

    def apply(self, seq: int, event: Event) -> bool:
        applied = super().apply(seq, event)
        if applied and self.ready.is_set():
            metrics.measure(self.state)
        return applied


def create_app(settings: Settings | None = None) -> Litestar:
    runtime = Runtime("committee", settings or Settings.from_env())
    projection = MeasuredProjection("committee", initial_view(runtime.call), evolve_view)
    runtime.views.append(projection)

    async def on_start() -> None:
        metrics.measure(projection.state)

    app = build_app(runtime, HANDLERS, title="AAP — comité de sélection", on_start=on_start)
    app.state.committee = Committee(runtime, projection)
    return app
