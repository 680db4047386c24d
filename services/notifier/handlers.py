"""The notifier's command: record a notification as sent, once (the only module of the service
that runs commands, with the platform's one retry policy). Reading whether it is recorded
comes before sending."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from aap_contract.envelope import Event
from aap_platform.execute import execute
from aap_platform.ids import stable_id
from aap_platform.runtime import Runtime
from aap_platform.store import Loaded
from services.notifier import domain

AGGREGATE = "notification"
ACTOR = "notifier"


def _state(loaded: Loaded) -> domain.NotificationState:
    return reduce(domain.evolve, loaded.events, domain.initial_state())


@dataclass
class NotifierHandlers:
    runtime: Runtime

    async def is_recorded(self, notification_id: str) -> bool:
        """Whether NotificationSent is in the store (the view may lag a moment behind it)."""
        return _state(await self.runtime.store.load(AGGREGATE, notification_id)).sent

    async def record_sent(self, n: domain.Notification, message_id: str, subject: str) -> Event | None:
        """Append NotificationSent once the mail server accepted the message (stable event id:
        a retried append is stored once; already recorded: nothing appended)."""
        command = domain.RecordSent(n, message_id, subject)
        return await execute(
            self.runtime.store,
            AGGREGATE,
            n.notification_id,
            lambda loaded: domain.decide(command, _state(loaded)),
            actor=ACTOR,
            now=self.runtime.now,
            event_id=stable_id("notification", n.notification_id),
        )
