"""Each service's view exactly as its `app.py` wires it: (initial, evolve) for a Projection."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.config import DEFAULT_CALL, load_call

ViewSpec = tuple[Callable[[], Any], Callable[[Any, Any], Any]]


def view(name: str, call_id: str = DEFAULT_CALL) -> ViewSpec:
    call = load_call(call_id)
    if name == "intake":
        from services.intake.view import evolve_view, initial_view
        return initial_view, evolve_view
    if name == "eligibility":
        from services.eligibility.view import evolve_view, initial_view
        return initial_view, evolve_view
    if name == "committee":
        from services.committee.view import evolve_view, initial_view
        return initial_view(call), evolve_view
    if name == "budget":
        from services.budget.domain import initial_state
        from services.budget.view import evolve_view, initial_view
        envelope = initial_state(call.budget)
        return (lambda: initial_view(envelope)), evolve_view
    if name == "notifier":
        from services.notifier.view import evolve, initial_view
        return initial_view, evolve
    raise ValueError(f"unknown view {name!r}")


VIEWS = ("intake", "eligibility", "committee", "budget", "notifier")
