"""The budget's reactions: a selection reserves credits; the clock passing the deadline lapses
what is left. Each only translates to a handler call."""

from __future__ import annotations

from datetime import datetime

from aap_contract.envelope import Event
from aap_platform.reactor import Subscription
from services.budget.handlers import BudgetHandlers

CONSUMES = ("ProjectSelected",)


def subscription(handlers: BudgetHandlers) -> Subscription:
    async def on_event(event: Event, seq: int) -> None:
        if event.type == "ProjectSelected":
            await handlers.reserve(event)

    return Subscription(on_event, aggregates=("session",), types=CONSUMES)


def on_tick(handlers: BudgetHandlers):
    async def tick(now: datetime) -> None:
        await handlers.lapse(now)

    return tick
