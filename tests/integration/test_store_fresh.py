"""`execute(fresh=True)`: the first decision on the empty aggregate, unread; the server's
expected-version check keeps it honest when the aggregate turns out to exist."""

from __future__ import annotations

from datetime import UTC, datetime

from aap_contract.events import DossierWithdrawn
from aap_contract.refusal import Refusal
from aap_platform.execute import execute

NOW = datetime(2021, 4, 2, 9, 0, tzinfo=UTC)


class CountingLoads:
    """The store, counting the reads `execute` makes."""

    def __init__(self, store) -> None:
        self.store, self.loads = store, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    async def load(self, *args, **kwargs):
        self.loads += 1
        return await self.store.load(*args, **kwargs)


def once(reason: str):
    """Records its withdrawal unless one is there already (None: nothing to do)."""
    return lambda loaded: None if loaded.events else DossierWithdrawn(loaded.aggregate_id, reason)


async def test_a_new_aggregate_is_written_without_a_read(store):
    counting = CountingLoads(store)
    event = await execute(counting, "dossier", "f1", once("a"), actor="t", now=lambda: NOW, fresh=True)
    assert counting.loads == 0
    stored = await store.load("dossier", "f1")
    assert [e.event_id for e in stored.events] == [event.event_id]
    assert stored.events[0].sequence == 1


async def test_an_existing_aggregate_is_read_and_decided_again(store):
    await execute(store, "dossier", "f2", once("first"), actor="t", now=lambda: NOW)
    counting = CountingLoads(store)
    again = await execute(counting, "dossier", "f2", once("second"), actor="t", now=lambda: NOW, fresh=True)
    assert again is None  # the conflict made it read what is stored
    assert counting.loads == 1
    assert [e.data.reason for e in (await store.load("dossier", "f2")).events] == ["first"]


async def test_a_stable_id_already_stored_is_not_recorded_twice(store):
    await execute(store, "dossier", "f3", once("x"), actor="t", now=lambda: NOW, event_id="ev-f3")
    await execute(
        store,
        "dossier",
        "f3",
        lambda l: DossierWithdrawn("f3", "x"),
        actor="t",
        now=lambda: NOW,
        event_id="ev-f3",
        fresh=True,
    )  # a redelivery, deciding again on the empty guess
    assert [e.event_id for e in (await store.load("dossier", "f3")).events] == ["ev-f3"]


async def test_a_refusal_on_the_guess_is_checked_against_the_store(store):
    await execute(store, "dossier", "f4", once("first"), actor="t", now=lambda: NOW)

    def needs_a_dossier(loaded):
        if not loaded.events:
            raise Refusal("UNKNOWN_DOSSIER", "inconnu")
        return DossierWithdrawn("f4", "second")

    await execute(store, "dossier", "f4", needs_a_dossier, actor="t", now=lambda: NOW, fresh=True)
    assert [e.data.reason for e in (await store.load("dossier", "f4")).events] == ["first", "second"]
