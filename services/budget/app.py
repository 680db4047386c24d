"""Wiring of the budget service: `uvicorn --factory services.budget.app:create_app --port 8004`."""
from __future__ import annotations

from litestar import Litestar
from prometheus_client import REGISTRY, Gauge

from aap_platform.projection import Projection
from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.budget import consumers, http
from services.budget.domain import initial_state
from services.budget.view import DECODE, TYPES, evolve_view, initial_view, totals

SERVICE = "budget"


def _envelope_gauge() -> Gauge:
    # One gauge per process, even when several apps are built in it (tests).
    existing = REGISTRY._names_to_collectors.get("aap_envelope_cents")  # noqa: SLF001
    return existing or Gauge("aap_envelope_cents", "The call's envelope, in cents", ["kind"])


def create_app(settings: Settings | None = None) -> Litestar:
    runtime = Runtime(SERVICE, settings or Settings.from_env())
    initial = initial_state(runtime.call.budget)
    view = Projection("budget", lambda: initial_view(initial), evolve_view, types=TYPES, decode=DECODE)
    runtime.views.append(view)
    runtime.reactor = consumers.reactor(lambda: runtime.store, initial, runtime.now)
    runtime.consumes = ("ProjectSelected",)     # for /asyncapi.json
    runtime.clock.on_tick(consumers.lapse_tick(lambda: runtime.store, initial, view))

    gauge = _envelope_gauge()
    for kind in ("envelope", "reserved", "committed", "available"):
        # read from the live view at each scrape (not set in evolve: audits replay evolve)
        gauge.labels(kind).set_function(lambda kind=kind: totals(view.state.envelope)[f"{kind}_cents"])

    return build_app(runtime, http.routes(runtime, view, initial), title="AAP — budget")
