"""The budget over HTTP, in process, against a real nats-server and the simulated clock:
commitments, refusals, roles, the lapse at the deadline and the views after it."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from aap_contract.config import load_call
from aap_contract.dossier import Dossier
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    DossierSubmitted,
    ProjectSelected,
    ReservationsLapsed,
)
from aap_platform.clock import set_clock
from services.budget.app import create_app
from tests.conftest import CALL

ENVELOPE = load_call().budget.envelope_cents
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "02-full-call.json"
DOSSIER = msgspec.convert(
    next(s["dossier"] for s in json.loads(SCENARIO.read_text())["steps"] if s["action"] == "submit"), Dossier
)
GRANTS = {"A": 4_500_000, "B": 5_000_000, "D": 7_000_000}


@pytest.fixture
async def client(settings):
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


@pytest.fixture
def auth(token):
    return lambda role="budget_officer": {"Authorization": f"Bearer {token(role, 'agent-' + role)}"}


# The app runs in the test client's own thread and event loop: the test talks to NATS through
# its own connection (`store`) and only reads the runtime's plain attributes.


async def clock(client, store, at: str) -> None:
    """Set the simulated clock; wait until the service ran its tick callbacks for it."""
    runtime = client.app.state.runtime
    revision = await set_clock(store.js, CALL, datetime.fromisoformat(at))
    for _ in range(1000):
        if runtime.clock.revision >= revision:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the service never saw the clock move")


async def settled(client, store) -> None:
    """Wait until the service's view has applied everything in the stream."""
    last = await store.last_sequence()
    for _ in range(1000):
        if client.app.state.runtime.position >= last:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the view never caught up")


async def envelope_events(store, count: int) -> list:
    for _ in range(1000):
        events = (await store.load("envelope", CALL)).events
        if len(events) >= count:
            return events
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} envelope events")


async def append(store, aggregate: str, aggregate_id: str, data, at: str):
    loaded = await store.load(aggregate, aggregate_id)
    event = loaded.next(data, actor="test", at=datetime.fromisoformat(at))
    await store.append(event, loaded.version)
    return event


async def prepare(client, store) -> None:
    """Dossiers A, B, C, D submitted; A, B and D selected and their credits reserved."""
    await clock(client, store, "2021-05-20T10:00:00+02:00")
    for dossier_id in ("A", "B", "C", "D"):
        await append(
            store, "dossier", dossier_id, DossierSubmitted(dossier_id, DOSSIER, 1), "2021-04-02T10:00:00+02:00"
        )
    for dossier_id, grant in GRANTS.items():
        await append(store, "session", "1", ProjectSelected(1, dossier_id, grant), "2021-05-20T10:00:00+02:00")
    events = await envelope_events(store, 3)
    assert all(isinstance(e.data, CreditsReserved) for e in events)
    await settled(client, store)


async def commit(client, headers, dossier_id: str, reference: str = "EJ-2100012345"):
    return await client.post(
        "/commitments", json={"dossier_id": dossier_id, "legal_reference": reference}, headers=headers
    )


async def test_commitment_flow_refusals_and_roles(client, store, auth):
    await prepare(client, store)
    officer = auth()
    await clock(client, store, "2021-09-15T10:00:00+02:00")
    done = await commit(client, officer, "A")
    assert done.status_code == 201, done.text
    assert done.json() == {"dossier_id": "A", "committed_cents": 4_500_000, "legal_reference": "EJ-2100012345"}

    again = await commit(client, officer, "A", "EJ-OTHER")
    assert again.status_code == 409 and again.json()["code"] == "NOT_SELECTED"
    never = await commit(client, officer, "C")
    assert never.status_code == 409 and never.json()["code"] == "NOT_SELECTED"
    unknown = await commit(client, officer, "NOPE")
    assert unknown.status_code == 404 and unknown.json()["code"] == "UNKNOWN_DOSSIER"

    blank = await commit(client, officer, "B", "   ")
    assert blank.status_code == 422 and "legal_reference" in blank.text
    missing = await client.post("/commitments", json={}, headers=officer)
    assert missing.status_code == 422 and "dossier_id" in missing.text and "legal_reference" in missing.text

    assert (await commit(client, auth("instructor"), "B")).status_code == 403
    assert (await client.post("/commitments", json={"dossier_id": "B", "legal_reference": "EJ"})).status_code == 401
    assert (await client.get("/budget", headers=auth("applicant"))).status_code == 403
    for role in ("budget_officer", "instructor", "auditor", "admin", "committee_member"):
        assert (await client.get("/reservations", headers=auth(role))).status_code == 200

    events = await envelope_events(store, 4)
    assert [type(e.data) for e in events[3:]] == [CreditsCommitted]  # refusals recorded nothing
    budget = (await client.get("/budget", headers=auth("auditor"))).json()
    assert (budget["reserved_cents"], budget["committed_cents"], budget["available_cents"]) == (
        12_000_000,
        4_500_000,
        ENVELOPE - 16_500_000,
    )
    assert budget["by_departement"]["59"] == {
        "reserved_cents": 12_000_000,
        "committed_cents": 4_500_000,
        "granted_cents": 16_500_000,
    }
    assert budget["by_theme"][DOSSIER.theme]["committed_cents"] == 4_500_000
    items = {i["dossier_id"]: i for i in (await client.get("/reservations", headers=officer)).json()["items"]}
    assert items["A"]["status"] == "committed" and items["A"]["legal_reference"] == "EJ-2100012345"
    assert items["B"]["status"] == "reserved" and "C" not in items


async def test_lapse_at_the_deadline_and_the_view_after_it(client, store, auth):
    await prepare(client, store)
    officer = auth()
    await clock(client, store, "2021-12-31T23:59:59+01:00")  # the deadline second itself
    assert len(await envelope_events(store, 3)) == 3  # nothing lapses yet
    assert (await commit(client, officer, "A")).status_code == 201
    await clock(client, store, "2021-12-31T22:59:59Z")  # the same second, in UTC
    assert (await commit(client, officer, "D")).status_code == 201

    await clock(client, store, "2022-01-01T00:00:00+01:00")
    events = await envelope_events(store, 6)  # appended before the clock revision was reported
    lapse = events[-1]
    assert isinstance(lapse.data, ReservationsLapsed)
    assert [(x.dossier_id, x.amount_cents) for x in lapse.data.lapses] == [("B", 5_000_000)]
    late = await commit(client, officer, "B")
    assert late.status_code == 409 and late.json()["code"] == "COMMITMENT_DEADLINE"

    await clock(client, store, "2022-01-03T09:05:00+01:00")
    assert len((await store.load("envelope", CALL)).events) == 6  # lapsed once
    await settled(client, store)
    budget = (await client.get("/budget", headers=officer)).json()
    assert {k: budget[k] for k in ("envelope_cents", "reserved_cents", "committed_cents", "available_cents")} == {
        "envelope_cents": ENVELOPE,
        "reserved_cents": 0,
        "committed_cents": 11_500_000,
        "available_cents": ENVELOPE - 11_500_000,
    }
    assert budget["by_session"]["1"] == {
        "reserved_cents": 0,
        "committed_cents": 11_500_000,
        "granted_cents": 11_500_000,
    }
    items = {i["dossier_id"]: i["status"] for i in (await client.get("/reservations", headers=officer)).json()["items"]}
    assert items == {"A": "committed", "B": "lapsed", "D": "committed"}

    metrics = (await client.get("/metrics", headers=auth("auditor"))).text
    gauges = {
        s.labels["kind"]: s.value
        for f in text_string_to_metric_families(metrics)
        if f.name == "aap_envelope_cents"
        for s in f.samples
    }
    assert gauges == {"envelope": ENVELOPE, "reserved": 0, "committed": 11_500_000, "available": ENVELOPE - 11_500_000}
