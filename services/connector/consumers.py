"""The connector's reactions on the bus: an assessment or a closed session -> its write-backs to DN.

The reactor is durable and in order; a failed DN mutation raises, so the event is redelivered with
backoff and parked after 5 attempts (aap_platform.reactor): never taken for a success."""

from __future__ import annotations

from aap_contract.envelope import Event
from aap_platform.reactor import Subscription
from services.connector.handlers import Handlers

CONSUMES = ("EligibilityAssessed", "SessionClosed")


def subscription(handlers: Handlers) -> Subscription:
    async def on_event(event: Event, seq: int) -> None:
        if event.type == "EligibilityAssessed":
            await handlers.write_back_assessment(event)
        elif event.type == "SessionClosed":
            await handlers.write_back_session(event)

    return Subscription(on_event, aggregates=("assessment", "session"), types=CONSUMES)
