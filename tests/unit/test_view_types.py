"""A view's `types` may only leave out events its evolve ignores: on a generated history with
every event type, each service's view fed only its types equals the view fed everything."""
from __future__ import annotations

import pytest

from bench.history import History
from bench.views import VIEWS, view
from shared.audit import digest
from shared.codec import decode
from shared.events import BY_NAME

EVENTS = [decode(payload) for _, payload, _ in History().messages(300)]


def test_the_history_holds_every_event_type():
    assert {e.type for e in EVENTS} == set(BY_NAME)


@pytest.mark.parametrize("name", VIEWS)
def test_a_view_fed_only_its_types_equals_the_view_fed_everything(name):
    initial, evolve, types = view(name)
    assert types is not None and types <= set(BY_NAME)
    everything, followed = initial(), initial()
    for event in EVENTS:
        everything = evolve(everything, event)
        if event.type in types:
            followed = evolve(followed, event)
    assert digest(followed) == digest(everything)
