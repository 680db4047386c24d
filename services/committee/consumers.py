"""The committee reacts to nothing on the bus: its decisions come from people (HTTP). The budget
reacts to its selections, the notifier to its closings. Its views follow the whole stream
(`view.py`); this module exists so that every service has the same shape."""

from __future__ import annotations

from aap_platform.reactor import Subscription

CONSUMES: tuple[str, ...] = ()


def subscription() -> Subscription | None:
    return None
