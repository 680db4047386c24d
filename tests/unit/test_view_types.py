"""A view's `types` may only leave out events its evolve ignores, and its own decoding may only
leave out what it does not read: on a generated history with every event type, each service's
view fed only its types, decoded its way, equals the view fed every event decoded in full."""

from __future__ import annotations

import pytest

from aap_contract.events import BY_NAME
from aap_platform.audit import digest
from aap_platform.codec import decode
from bench.history import History
from bench.views import VIEWS, view

MESSAGES = [(h["Aap-Type"], payload) for _, payload, h in History().messages(300)]
EVENTS = [decode(payload) for _, payload in MESSAGES]


def test_the_history_holds_every_event_type():
    assert {e.type for e in EVENTS} == set(BY_NAME)


@pytest.mark.parametrize("name", VIEWS)
def test_a_view_fed_only_its_types_equals_the_view_fed_everything(name):
    initial, evolve, types, own_decode = view(name)
    assert types is not None and types <= set(BY_NAME)
    everything, followed = initial(), initial()
    for event in EVENTS:
        everything = evolve(everything, event)
    for kind, payload in MESSAGES:
        if kind in types:
            followed = evolve(followed, own_decode(payload, kind))
    assert digest(followed) == digest(everything)
