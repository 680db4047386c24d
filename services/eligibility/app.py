"""Wiring of the eligibility service: its view, its reaction, its HTTP API and its metric.

Run: `uvicorn --factory services.eligibility.app:create_app --port 8002`.
"""

from __future__ import annotations

from litestar import Litestar
from prometheus_client import Gauge

from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.eligibility import consumers
from services.eligibility.handlers import EligibilityHandlers
from services.eligibility.http import ROUTES
from services.eligibility.view import projection

SERVICE = "eligibility"
ASSESSMENTS = Gauge("aap_assessments", "Dossiers by the verdict of their latest eligibility assessment", ["result"])


def create_app(settings: Settings | None = None) -> Litestar:
    runtime = Runtime(SERVICE, settings or Settings.from_env())
    view = projection(runtime.call)
    runtime.views.append(view)
    handlers = EligibilityHandlers(runtime, view)
    runtime.reactor = consumers.subscription(handlers)
    ASSESSMENTS.labels("eligible").set_function(lambda: view.state.count(True))
    ASSESSMENTS.labels("ineligible").set_function(lambda: view.state.count(False))
    app = build_app(runtime, ROUTES, title="AAP — éligibilité")
    app.state.handlers = handlers
    return app
