"""The console's bus reactions: none. It appends no event and reacts to none; what it reads of the
stream comes through its view (view.py), fed by the platform's projection runner."""
from __future__ import annotations

from aap_platform.runtime import Runtime


def attach(runtime: Runtime) -> None:
    """No reactor: `runtime.reactor` stays None and the console declares no consumed event."""
    runtime.reactor = None
    runtime.consumes = ()
