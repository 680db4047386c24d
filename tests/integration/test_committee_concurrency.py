"""Concurrent commands on one session, run truly concurrently on one event loop against a real
nats-server: optimistic concurrency on the session makes the loser decide again on fresh state."""

from __future__ import annotations

import asyncio
from datetime import datetime
from types import SimpleNamespace

from aap_contract.config import load_call
from aap_contract.events import CreditsCommitted
from aap_contract.refusal import Refusal
from aap_platform.projection import Projection
from services.committee.domain import Decide
from services.committee.handlers import CommitteeHandlers as Committee
from services.committee.view import evolve_view, initial_view
from tests.conftest import CALL
from tests.integration.test_committee_api import append, dossier

NOW = datetime.fromisoformat("2021-05-20T10:00:00+02:00")


async def committee_on(store) -> Committee:
    call = load_call(CALL)
    projection = Projection("committee", initial_view(call), evolve_view)
    await projection.start(store)
    runtime = SimpleNamespace(store=store, call=call, now=lambda: NOW, service="committee")
    return Committee(runtime, projection)


def counting_loads(store) -> list[str]:
    loads: list[str] = []
    original = store.load

    async def load(aggregate_type, aggregate_id, after=0):
        loads.append(aggregate_id)
        return await original(aggregate_type, aggregate_id, after)

    store.load = load
    return loads


async def test_two_decisions_on_one_dossier_exactly_one_recorded(store):
    await dossier(store, "ETAT-CIVIL")
    committee = await committee_on(store)
    loads = counting_loads(store)
    results = await asyncio.gather(
        committee.decide(Decide(1, "ETAT-CIVIL", "select", granted_cents=4_500_000), "a"),
        committee.decide(Decide(1, "ETAT-CIVIL", "reject", motivation="Non."), "b"),
        return_exceptions=True,
    )
    await committee.projection.stop()
    assert len(loads) == 3  # both loaded the same version; one retried
    recorded = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Refusal)]
    assert len(recorded) == 1 and [r.code for r in refused] == ["ALREADY_DECIDED"]
    assert [e.event_id for e in (await store.load("session", "1")).events] == [recorded[0][0].event_id]


async def test_concurrent_selections_never_exceed_the_committees_view_of_the_envelope(store):
    """Three selections racing on one session: each re-decision sees the others as unanswered
    selections, so the one that no longer fits is refused at once (ENVELOPE_EXHAUSTED)."""
    call = load_call(CALL)
    for ref in ("ETAT-CIVIL", "SVI", "PORTAIL"):
        await dossier(store, ref)
    await append(
        store,
        "envelope",
        CALL,
        CreditsCommitted(
            dossier_id="OTHER", amount_cents=call.budget.envelope_cents - 10_000_000, legal_reference="EJ-0"
        ),
    )
    committee = await committee_on(store)
    results = await asyncio.gather(
        *(
            committee.decide(Decide(1, ref, "select", granted_cents=cents), "x")
            for ref, cents in (("ETAT-CIVIL", 4_500_000), ("SVI", 5_000_000), ("PORTAIL", 4_500_000))
        ),
        return_exceptions=True,
    )
    await committee.projection.stop()
    codes = sorted(r.code if isinstance(r, Refusal) else "recorded" for r in results)
    assert codes == ["ENVELOPE_EXHAUSTED", "recorded", "recorded"]
    granted = sum(e.data.granted_cents for e in (await store.load("session", "1")).events)
    assert granted <= 10_000_000
