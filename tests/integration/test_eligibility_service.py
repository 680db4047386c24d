"""The eligibility service against a real nats-server: dossier events go in through the store,
assessments come out once each, the view serves the latest one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
from litestar.testing import AsyncTestClient

from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import (
    DossierAmended,
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
)
from aap_platform.ids import stable_id
from services.eligibility.app import create_app
from tests.unit.test_eligibility_rules import BREAKERS, reference, scenario

T0 = datetime(2021, 4, 6, 9, 30, tzinfo=UTC)


async def publish(store, dossier_id: str, data, minutes: int = 0) -> Event:
    """An intake event, appended as intake would."""
    loaded = await store.load("dossier", dossier_id)
    event = loaded.next(data, actor="intake", at=T0 + timedelta(minutes=minutes))
    await store.append(event, loaded.version)
    return event


async def submit(store, dossier_id: str, dossier: Dossier) -> Event:
    return await publish(store, dossier_id, DossierSubmitted(dossier_id, dossier, 1))


async def amend(store, dossier_id: str, dossier: Dossier) -> Event:
    return await publish(store, dossier_id, DossierAmended(dossier_id, dossier, 1), minutes=5)


async def assessments(store, dossier_id: str) -> list[Event]:
    return (await store.load("assessment", dossier_id)).events


async def settle(client, store) -> None:
    """Wait until the service has handled and seen everything in the stream (quiescence)."""
    for _ in range(800):
        last = await store.last_sequence()
        ready = (await client.get("/health/ready")).json()
        if ready["reactor_lag"] == 0 and ready["position"] >= last and await store.last_sequence() == last:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"eligibility did not settle: {ready}")


def auth(token, role: str = "instructor", **claims) -> dict:
    return {"Authorization": f"Bearer {token(role, **claims)}"}


async def test_each_submission_is_assessed_once_and_served(store, settings, token):
    ok = await submit(store, "d-ok", reference())
    bad = await submit(store, "d-bad", BREAKERS["THEME"](reference()))
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
        for dossier_id, source, eligible in (("d-ok", ok, True), ("d-bad", bad, False)):
            events = await assessments(store, dossier_id)
            assert len(events) == 1
            assert events[0].event_id == stable_id("assessment", source.event_id)
            assert events[0].causation_id == source.event_id and events[0].actor == "eligibility"
            assert isinstance(events[0].data, EligibilityAssessed) and events[0].data.eligible is eligible

        got = (await client.get("/assessments/d-bad", headers=auth(token))).json()
        assert got["dossier_id"] == "d-bad" and got["eligible"] is False and got["reasons"] == ["THEME"]
        assert got["failures"][0]["code"] == "THEME" and "4.1" in got["failures"][0]["message"]
        assert got["dossier_event_id"] == bad.event_id and got["assessed_at"]

        listed = (await client.get("/assessments?eligible=true", headers=auth(token, "auditor"))).json()
        assert [i["dossier_id"] for i in listed["items"]] == ["d-ok"]
        listed = (await client.get("/assessments?eligible=false", headers=auth(token, "committee_member"))).json()
        assert [i["dossier_id"] for i in listed["items"]] == ["d-bad"]
        both = (await client.get("/assessments", headers=auth(token, "budget_officer"))).json()
        assert sorted(i["dossier_id"] for i in both["items"]) == ["d-bad", "d-ok"]

        metrics = (await client.get("/metrics", headers={"Authorization": f"Bearer {token('auditor')}"})).text
        assert 'aap_assessments{result="eligible"} 1.0' in metrics
        assert 'aap_assessments{result="ineligible"} 1.0' in metrics


async def test_http_access_rules(store, settings, token):
    await submit(store, "d-1", reference())
    other = msgspec.structs.replace(reference().applicants[0], name="Commune de Rivecourt", siren="216000570")
    await submit(store, "d-2", msgspec.structs.replace(reference(), applicants=[other]))
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
        assert (await client.get("/assessments/d-1")).status_code == 401
        mine = auth(token, "applicant", sirens=["215903501"])
        assert (await client.get("/assessments/d-1", headers=mine)).status_code == 200
        hidden = await client.get("/assessments/d-2", headers=mine)
        unknown = await client.get("/assessments/nope", headers=mine)
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json()["code"] == "UNKNOWN_DOSSIER"
        assert [i["dossier_id"] for i in (await client.get("/assessments", headers=mine)).json()["items"]] == ["d-1"]
        bad = await client.get("/assessments?eligible=peut-etre", headers=auth(token))
        assert bad.status_code == 422 and "eligible" in bad.text


async def test_amended_back_and_forth_gives_three_assessments_latest_wins(store, settings, token):
    async with AsyncTestClient(create_app(settings)) as client:
        await submit(store, "d-1", BREAKERS["COST_RANGE"](reference()))
        await settle(client, store)
        assert (await client.get("/assessments/d-1", headers=auth(token))).json()["eligible"] is False
        await amend(store, "d-1", reference())
        await settle(client, store)
        assert (await client.get("/assessments/d-1", headers=auth(token))).json()["eligible"] is True
        last = await amend(store, "d-1", BREAKERS["DOCUMENT"](reference()))
        await settle(client, store)
        events = await assessments(store, "d-1")
        assert [e.data.eligible for e in events] == [False, True, False]
        got = (await client.get("/assessments/d-1", headers=auth(token))).json()
        assert got["reasons"] == ["DOCUMENT"] and got["dossier_event_id"] == last.event_id


async def test_nothing_lost_while_down_and_no_duplicate_on_restart(store, settings, token):
    sources = [await submit(store, f"d-{i}", reference()) for i in range(5)]
    await publish(store, "d-0", DossierWithdrawn("d-0", "abandon"), minutes=1)  # still assessed
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
    for i, source in enumerate(sources):
        events = await assessments(store, f"d-{i}")
        assert [e.data.dossier_event_id for e in events] == [source.event_id]

    await amend(store, "d-1", BREAKERS["THEME"](reference()))  # while down again
    await submit(store, "d-5", reference())
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
        items = (await client.get("/assessments", headers=auth(token))).json()["items"]
        assert len(items) == 6
        assert {i["dossier_id"] for i in items if not i["eligible"]} == {"d-1"}
    counts = {f"d-{i}": len(await assessments(store, f"d-{i}")) for i in range(6)}
    assert counts == {"d-0": 1, "d-1": 2, "d-2": 1, "d-3": 1, "d-4": 1, "d-5": 1}


async def test_scenario_01_dossiers_give_the_expected_reasons(store, settings, token):
    data = scenario()
    expected = data["expect"]["dossiers"]
    steps = [s for s in data["steps"] if s.get("ref") in expected]
    for step in steps:
        await submit(store, step["ref"], msgspec.convert(step["dossier"], Dossier))
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
        for ref, outcome in expected.items():
            got = (await client.get(f"/assessments/{ref}", headers=auth(token))).json()
            assert (got["eligible"], got["reasons"]) == (outcome["eligible"], outcome["reasons"]), ref


async def test_a_redelivered_event_appends_nothing_new(store, settings):
    from types import SimpleNamespace

    from aap_contract.config import load_call
    from services.eligibility.consumers import subscription
    from services.eligibility.handlers import EligibilityHandlers

    runtime = SimpleNamespace(store=store, call=load_call(settings.call), now=lambda: T0)
    handle = subscription(EligibilityHandlers(runtime, view=None)).handler
    source = await submit(store, "d-1", reference())
    withdrawn = await publish(store, "d-1", DossierWithdrawn("d-1"), minutes=1)
    await handle(source, 1)
    await handle(source, 1)  # redelivery, e.g. the ack was lost
    await handle(withdrawn, 2)  # not a content event: nothing to assess
    events = await assessments(store, "d-1")
    assert len(events) == 1 and events[0].data.dossier_event_id == source.event_id
    assert await store.last_sequence() == 3
