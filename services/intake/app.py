"""Intake's wiring: settings, runtime, view, document store, HTTP app. Nothing runs at import.

Run: `uvicorn --factory services.intake.app:create_app --port 8001`.
"""

from __future__ import annotations

import functools

from litestar import Litestar
from prometheus_client import Gauge

from aap_contract.lifecycle import STATUSES
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.intake import consumers
from services.intake.documents import DocumentStore, max_document_bytes
from services.intake.handlers import IntakeHandlers
from services.intake.http import ROUTES
from services.intake.view import IntakeView, projection

DOSSIERS = Gauge("aap_dossiers", "Dossiers by status, as the intake view sees them", ["status"])


def _measure(view: Projection[IntakeView]) -> None:
    """The gauge reads the live view at scrape time: no per-event cost on the replay path."""
    for status in STATUSES:
        DOSSIERS.labels(status).set_function(functools.partial(lambda s: view.state.counts[s], status))


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    runtime = Runtime("intake", settings)
    view = projection(runtime.call)
    runtime.views.append(view)
    _measure(view)
    runtime.reactor = consumers.subscription()
    handlers = IntakeHandlers(runtime=runtime, view=view, max_document_bytes=max_document_bytes())

    async def on_start() -> None:
        handlers.documents = DocumentStore(runtime.store.js, runtime.call.id, settings.nats_replicas)

    app = build_app(runtime, ROUTES, title="AAP — dépôt des dossiers (intake)", on_start=on_start)
    app.state.handlers = handlers
    return app
