"""The notifier's reaction to the stream: a closed session wakes the sender.

The handler sends nothing itself: the view derives the due notifications from SessionClosed,
and the sender sends what is due and not yet recorded. The handler only makes sure the view
has taken the event in before acknowledging it, so that once the reactor has no lag, every
due notification is counted in `busy` until it is sent.
"""

from __future__ import annotations

from aap_contract.envelope import Event
from aap_platform.projection import Projection
from aap_platform.reactor import Subscription
from services.notifier.sender import Sender
from services.notifier.view import NotifierView

CATCH_UP_SECONDS = 30.0
CONSUMES = ("SessionClosed",)


def subscription(view: Projection[NotifierView], sender: Sender) -> Subscription:
    async def on_event(event: Event, seq: int) -> None:
        await view.wait_for(seq, timeout=CATCH_UP_SECONDS)
        sender.wake()

    return Subscription(on_event, aggregates=("session",), types=CONSUMES)
