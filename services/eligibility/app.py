"""Wiring of the eligibility service: its view, its reactor, its HTTP API and its metric.

Run: `uvicorn --factory services.eligibility.app:create_app --port 8002`.
"""
from __future__ import annotations

from litestar import Litestar
from prometheus_client import Gauge

from aap_platform.projection import Projection
from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.eligibility.consumers import make_handler
from services.eligibility.http import HANDLERS
from services.eligibility.view import (
    DECODE,
    TYPES,
    AssessmentView,
    evolve_view,
    initial_view,
)

SERVICE = "eligibility"
ASSESSMENTS = Gauge("aap_assessments", "Dossiers by the verdict of their latest eligibility assessment",
                    ["result"])


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    view: Projection[AssessmentView] = Projection("eligibility-assessments", initial_view, evolve_view,
                                                  types=TYPES, decode=DECODE)
    runtime = Runtime(SERVICE, settings, views=[view])
    runtime.reactor = make_handler(runtime)
    runtime.consumes = ("DossierSubmitted", "DossierAmended")     # for /asyncapi.json
    ASSESSMENTS.labels("eligible").set_function(lambda: view.state.count(True))
    ASSESSMENTS.labels("ineligible").set_function(lambda: view.state.count(False))
    app = build_app(runtime, HANDLERS, title="AAP — éligibilité")
    app.state.assessments = view
    return app
