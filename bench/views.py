"""Each service's view exactly as its `app.py` wires it: (initial, evolve, types, decode) for a Projection."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aap_contract.config import DEFAULT_CALL, load_call
from aap_platform.codec import decode

ViewSpec = tuple[Callable[[], Any], Callable[[Any, Any], Any], frozenset[str] | None, Callable[..., Any]]


def view(name: str, call_id: str = DEFAULT_CALL) -> ViewSpec:
    call = load_call(call_id)
    if name == "intake":
        from services.intake.view import TYPES, evolve_view, initial_view
        return initial_view, evolve_view, TYPES, decode
    if name == "eligibility":
        from services.eligibility.view import DECODE, TYPES, evolve_view, initial_view
        return initial_view, evolve_view, TYPES, DECODE
    if name == "committee":
        from services.committee.view import DECODE, TYPES, evolve_view, initial_view
        return initial_view(call), evolve_view, TYPES, DECODE
    if name == "budget":
        from services.budget.domain import initial_state
        from services.budget.view import DECODE, TYPES, evolve_view, initial_view
        envelope = initial_state(call.budget)
        return (lambda: initial_view(envelope)), evolve_view, TYPES, DECODE
    if name == "notifier":
        from services.notifier.view import DECODE, TYPES, evolve, initial_view
        return initial_view, evolve, TYPES, DECODE
    raise ValueError(f"unknown view {name!r}")


VIEWS = ("intake", "eligibility", "committee", "budget", "notifier")
