"""The notifier's reaction to the stream: a closed session wakes the sender.

The handler sends nothing itself: the view derives the due notifications from SessionClosed,
and the sender sends what is due and not yet recorded. The handler only makes sure the view
has taken the event in before acknowledging it, so that once the reactor has no lag, every
due notification is counted in `busy` until it is sent.
"""
from __future__ import annotations

from services.notifier.sender import Sender
from services.notifier.view import NotifierView
from shared.codec import Event
from shared.events import SessionClosed
from shared.projection import Projection
from shared.reactor import Handler

CATCH_UP_SECONDS = 30.0


def reactor(view: Projection[NotifierView], sender: Sender) -> Handler:
    async def on_event(event: Event, seq: int) -> None:
        if isinstance(event.data, SessionClosed):
            await view.wait_for(seq, timeout=CATCH_UP_SECONDS)
            sender.wake()
    return on_event
