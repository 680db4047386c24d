"""Wiring of the budget service: `uvicorn --factory services.budget.app:create_app --port 8004`."""

from __future__ import annotations

import functools

from litestar import Litestar
from prometheus_client import Gauge

from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.budget import consumers
from services.budget.handlers import BudgetHandlers
from services.budget.http import ROUTES
from services.budget.view import projection, totals

SERVICE = "budget"
ENVELOPE = Gauge("aap_envelope_cents", "The call's envelope, in cents", ["kind"])


def create_app(settings: Settings | None = None) -> Litestar:
    runtime = Runtime(SERVICE, settings or Settings.from_env())
    view = projection(runtime.call)
    runtime.views.append(view)
    handlers = BudgetHandlers(runtime, view)
    runtime.reactor = consumers.subscription(handlers)
    runtime.clock.on_tick(consumers.on_tick(handlers))
    for kind in ("envelope", "reserved", "committed", "available"):
        # read from the live view at each scrape (not set in evolve: audits replay evolve)
        ENVELOPE.labels(kind).set_function(functools.partial(lambda k: totals(view.state.envelope)[f"{k}_cents"], kind))
    app = build_app(runtime, ROUTES, title="AAP — budget")
    app.state.handlers = handlers
    return app
