"""The connector's reactions on the bus: an assessment or a closed session -> its write-backs to DN.

The reactor is durable and in order; a failed DN mutation raises, so the event is redelivered with
backoff and parked after 5 attempts (aap_platform.reactor): never taken for a success."""
from __future__ import annotations

from aap_contract.envelope import Event
from aap_contract.events import EligibilityAssessed, SessionClosed
from aap_platform.reactor import Handler
from services.connector.handlers import Handlers

CONSUMES = ("EligibilityAssessed", "SessionClosed")


def reactor(handlers: Handlers) -> Handler:
    async def on_event(event: Event, seq: int) -> None:
        if isinstance(event.data, EligibilityAssessed):
            await handlers.write_back_assessment(event)
        elif isinstance(event.data, SessionClosed):
            await handlers.write_back_session(event)
    return on_event
