"""The eligibility reactor: every submission or amendment is assessed."""

from __future__ import annotations

from aap_contract.envelope import Event
from aap_platform.reactor import Subscription
from services.eligibility.handlers import EligibilityHandlers

CONSUMES = ("DossierSubmitted", "DossierAmended")


def subscription(handlers: EligibilityHandlers) -> Subscription:
    async def on_event(event: Event, seq: int) -> None:
        if event.type in CONSUMES:
            await handlers.assess(event)

    return Subscription(on_event, aggregates=("dossier",), types=CONSUMES)
