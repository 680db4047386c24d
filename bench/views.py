"""Each service's view exactly as its `app.py` wires it (`services.<name>.view.projection`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from aap_contract.config import DEFAULT_CALL, load_call

ViewSpec = tuple[Callable[[], Any], Callable[[Any, Any], Any], frozenset[str] | None, Callable[..., Any]]
VIEWS = ("intake", "eligibility", "committee", "budget", "notifier")


def view(name: str, call_id: str = DEFAULT_CALL) -> ViewSpec:
    if name not in VIEWS:
        raise ValueError(f"unknown view {name!r}")
    p = importlib.import_module(f"services.{name}.view").projection(load_call(call_id))
    return p.initial, p.evolve, p.types, p.decode
