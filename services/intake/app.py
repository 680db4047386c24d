"""Intake's wiring: settings, runtime, view, document store, HTTP app. Nothing runs at import.

Run: `uvicorn --factory services.intake.app:create_app --port 8001`.
"""
from __future__ import annotations

from litestar import Litestar
from prometheus_client import Gauge

from services.intake.documents import DocumentStore, max_document_bytes
from services.intake.http import HANDLERS, Intake
from services.intake.view import IntakeView, evolve_view, initial_view
from shared.codec import Event
from shared.projection import Projection
from shared.service import Runtime, build_app
from shared.settings import Settings

DOSSIERS = Gauge("aap_dossiers", "Dossiers by status, as the intake view sees them", ["status"])


def _evolve_and_measure(view: IntakeView, event: Event) -> IntakeView:
    view = evolve_view(view, event)
    for status, count in view.counts.items():
        DOSSIERS.labels(status).set(count)
    return view


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    view = Projection("intake-dossiers", initial_view, _evolve_and_measure)
    runtime = Runtime("intake", settings, views=[view])
    intake = Intake(runtime=runtime, view=view, max_document_bytes=max_document_bytes())

    async def on_start() -> None:
        intake.documents = DocumentStore(runtime.store.js, runtime.call.id, settings.nats_replicas)

    app = build_app(runtime, HANDLERS, title="AAP — dépôt des dossiers (intake)", on_start=on_start)
    app.state.intake = intake
    return app
