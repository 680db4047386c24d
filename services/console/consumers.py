"""The console's bus reactions: none. It appends no event and reacts to none; what it reads of the
stream comes through its view (view.py), fed by the platform's projection runner."""

from __future__ import annotations

from aap_platform.reactor import Subscription
from services.console.handlers import Handlers


def subscription(handlers: Handlers) -> Subscription | None:
    """No reactor: the console declares no consumed event."""
    return None
