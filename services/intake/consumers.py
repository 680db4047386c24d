"""Intake reacts to nothing on the bus: dossiers come from people (HTTP). Its view follows the
whole stream (`view.py`); this module exists so that every service has the same shape."""

from __future__ import annotations

from aap_platform.reactor import Subscription

CONSUMES: tuple[str, ...] = ()


def subscription() -> Subscription | None:
    return None
