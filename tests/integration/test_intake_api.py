"""Intake over HTTP, in process, against a real nats-server and a simulated clock."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import datetime
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from aap_platform.clock import set_clock
from services.intake.app import create_app
from tests.conftest import CALL

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json"
SAMPLES = {s["ref"]: s["dossier"] for s in json.loads(SCENARIO.read_text())["steps"] if s["action"] == "submit"}


def sample(ref: str = "OK-1") -> dict:
    return copy.deepcopy(SAMPLES[ref])


@pytest.fixture
async def client(settings, monkeypatch):
    monkeypatch.setenv("AAP_MAX_DOCUMENT_BYTES", "4096")
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


@pytest.fixture
def clock(client, nc):
    """clock(at): set the simulated clock and wait until the service has seen it.
    (The app runs on the test client's own event loop: the test talks to NATS on its own connection.)"""

    async def move(at: str) -> None:
        runtime = client.app.state.runtime
        revision = await set_clock(nc.jetstream(), CALL, datetime.fromisoformat(at))
        for _ in range(500):
            if runtime.clock.revision >= revision:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the service never saw the clock move")

    return move


@pytest.fixture
def last_seq(client, store):
    """last_seq(): the stream's last sequence, to show that a refusal recorded nothing."""
    return store.last_sequence


async def submit(client, headers, ref="OK-1", **extra_headers):
    return await client.post("/dossiers", json=sample(ref), headers={**headers, **extra_headers})


async def test_submit_read_withdraw_list_filter_paginate(client, auth, clock, store):
    agent = auth("instructor")
    await clock("2021-04-06T09:30:00+02:00")
    first = await submit(client, agent, "OK-1")
    assert first.status_code == 201, first.text
    assert first.json()["session"] == 1 and first.json()["status"] == "submitted"
    await clock("2021-04-08T10:00:00+02:00")
    territory = (await submit(client, agent, "TERRITORY")).json()["dossier_id"]
    await clock("2021-05-15T00:00:00+02:00")  # past relevé 1: session 2
    late = await submit(client, agent, "CONTACT")
    assert late.json()["session"] == 2

    one = (await client.get(f"/dossiers/{first.json()['dossier_id']}", headers=agent)).json()
    assert one["status"] == "submitted" and one["session"] == one["agenda_session"] == 1
    assert one["title"] == SAMPLES["OK-1"]["title"] and one["theme"] == "1.3" and one["departement"] == "59"
    assert one["dossier"]["applicants"][0]["siren"] == "215903501"
    assert one["eligible"] is None and one["reasons"] == [] and one["failures"] == []

    page1 = (await client.get("/dossiers?page_size=2", headers=agent)).json()
    page2 = (await client.get("/dossiers?page_size=2&page=2", headers=agent)).json()
    assert page1["total"] == page2["total"] == 3 and (page1["page"], page2["page"]) == (1, 2)
    assert [i["title"] for i in page1["items"] + page2["items"]] == [
        SAMPLES[r]["title"] for r in ("OK-1", "TERRITORY", "CONTACT")
    ]
    assert "dossier" not in page1["items"][0]

    async def ids(query: str) -> list[str]:
        body = (await client.get(f"/dossiers?{query}", headers=agent)).json()
        return [i["title"] for i in body["items"]]

    assert await ids("session=2") == [SAMPLES["CONTACT"]["title"]]
    assert await ids("departement=76") == [SAMPLES["TERRITORY"]["title"]]
    assert await ids("theme=3") == [SAMPLES["CONTACT"]["title"]]
    assert await ids("theme=1.3&session=1") == [SAMPLES["OK-1"]["title"], SAMPLES["TERRITORY"]["title"]]

    # withdraw the session-2 one (still open), with a reason; then filter by status
    withdrawn = await client.post(
        f"/dossiers/{late.json()['dossier_id']}/withdraw", json={"reason": "abandon"}, headers=agent
    )
    assert withdrawn.status_code == 200, withdrawn.text
    recorded = (await store.load("dossier", late.json()["dossier_id"])).events[-1]
    assert (recorded.type, recorded.version, recorded.data.reason) == ("DossierWithdrawn", 2, "abandon")
    assert recorded.actor == "instructor:agent"
    assert await ids("status=withdrawn") == [SAMPLES["CONTACT"]["title"]]
    assert await ids("status=submitted") == [SAMPLES["OK-1"]["title"], SAMPLES["TERRITORY"]["title"]]

    bad = await client.get("/dossiers?page=0&page_size=1000&status=nope&session=x", headers=agent)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["extra"]} == {"page", "page_size", "status", "session"}

    # amendment replaces the content; a session-1 dossier is locked after its relevé
    locked = await client.put(f"/dossiers/{territory}", json=sample("OK-1"), headers=agent)
    assert locked.status_code == 409 and locked.json()["code"] == "LOCKED"
    metrics = (await client.get("/metrics", headers=auth("auditor"))).text
    assert 'aap_dossiers{status="submitted"} 2.0' in metrics
    assert 'aap_dossiers{status="withdrawn"} 1.0' in metrics


async def test_amendment_replaces_content_until_the_cutoff(client, auth, clock, last_seq):
    agent = auth("admin")
    await clock("2021-05-01T10:00:00+02:00")
    dossier_id = (await submit(client, agent)).json()["dossier_id"]
    changed = sample("OK-1")
    changed["title"] = "Nouveau titre"
    await clock("2021-05-20T10:00:00+02:00")
    amended = await client.put(f"/dossiers/{dossier_id}", json=changed, headers=agent)
    # session 1's relevé passed: the dossier collected by it is locked
    assert amended.status_code == 409 and amended.json()["code"] == "LOCKED"
    await clock("2021-05-14T23:59:59+02:00")
    amended = await client.put(f"/dossiers/{dossier_id}", json=changed, headers=agent)
    assert amended.status_code == 200, amended.text
    assert amended.json() == {"dossier_id": dossier_id, "session": 1, "status": "submitted"}
    one = (await client.get(f"/dossiers/{dossier_id}", headers=agent)).json()
    assert one["title"] == "Nouveau titre" and one["dossier"]["title"] == "Nouveau titre"
    assert await last_seq() == 2


async def test_malformed_dossier_names_every_faulty_field_and_records_nothing(client, auth, clock, last_seq):
    await clock("2021-04-06T09:30:00+02:00")
    body = sample("OK-1")
    del body["title"]
    body["track"] = "express"
    body["financing"]["requested_cents"] = -5
    body["applicants"][0]["siren"] = "215903502"  # nine digits, wrong checksum
    body["applicants"].append({**body["applicants"][0], "siren": "12345", "contact": {"name": "x"}})
    response = await client.post("/dossiers", json=body, headers=auth())
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["extra"]}
    assert {
        "title",
        "track",
        "financing.requested_cents",
        "applicants[0].siren",
        "applicants[1].siren",
        "applicants[1].contact.email",
    } <= fields
    assert await last_seq() == 0


async def test_checksum_alone_is_a_validation_error(client, auth, clock, last_seq):
    await clock("2021-04-22T10:00:00+02:00")
    response = await submit(client, auth(), "BAD-SIREN")
    assert response.status_code == 422
    assert response.json()["extra"] == [
        {"field": "applicants[0].siren", "message": "numéro SIREN invalide (clé de contrôle)"}
    ]


async def test_eligibility_faults_are_not_validation_errors(client, auth, clock, last_seq):
    await clock("2021-04-21T10:00:00+02:00")
    response = await submit(client, auth(), "MANY")  # unknown theme, kind, département
    assert response.status_code == 201, response.text


async def test_refusals_record_nothing(client, auth, clock, last_seq):
    agent = auth()
    await clock("2021-03-31T23:59:59+02:00")
    early = await submit(client, agent)
    assert early.status_code == 409 and early.json()["code"] == "WINDOW" and early.json()["message"]
    assert await last_seq() == 0

    unknown = await client.put("/dossiers/nope", json=sample(), headers=agent)
    assert unknown.status_code == 404 and unknown.json()["code"] == "UNKNOWN_DOSSIER"
    assert (await client.post("/dossiers/nope/withdraw", headers=agent)).status_code == 404
    assert (await client.get("/dossiers/nope", headers=agent)).json()["code"] == "UNKNOWN_DOSSIER"

    await clock("2021-04-01T00:00:00+02:00")
    dossier_id = (await submit(client, agent)).json()["dossier_id"]
    assert (await client.post(f"/dossiers/{dossier_id}/withdraw", headers=agent)).status_code == 200
    assert await last_seq() == 2
    again = await client.post(f"/dossiers/{dossier_id}/withdraw", headers=agent)
    amend = await client.put(f"/dossiers/{dossier_id}", json=sample(), headers=agent)
    assert (again.status_code, again.json()["code"]) == (409, "LOCKED")
    assert (amend.status_code, amend.json()["code"]) == (409, "LOCKED")
    await clock("2021-07-01T00:00:00+02:00")
    assert (await client.put(f"/dossiers/{dossier_id}", json=sample(), headers=agent)).json()["code"] == "WINDOW"
    assert (await submit(client, agent)).json()["code"] == "WINDOW"
    assert await last_seq() == 2


async def test_retried_submission_with_the_same_key_creates_one_dossier(client, auth, clock, last_seq):
    agent = auth("applicant", "mairie", sirens=["215903501"])
    await clock("2021-04-06T09:30:00+02:00")
    first = await submit(client, agent, **{"Idempotency-Key": "k-1"})
    retry = await submit(client, agent, **{"Idempotency-Key": "k-1"})
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert retry.headers.get("idempotent-replayed") == "true"
    assert await last_seq() == 1
    other = await submit(client, agent, **{"Idempotency-Key": "k-2"})
    assert other.json()["dossier_id"] != first.json()["dossier_id"]
    listed = (await client.get("/dossiers", headers=agent)).json()
    assert listed["total"] == 2


async def test_applicants_see_and_change_only_their_own_dossiers(client, auth, clock, last_seq):
    mine = auth("applicant", "mairie", sirens=["215903501"])
    theirs = auth("applicant", "voisine", sirens=["217600212"])
    await clock("2021-04-06T09:30:00+02:00")
    assert (await submit(client, theirs, "OK-1")).status_code == 403  # not its structure
    dossier_id = (await submit(client, mine, "OK-1")).json()["dossier_id"]
    await submit(client, theirs, "TERRITORY")

    for response in (
        await client.get(f"/dossiers/{dossier_id}", headers=theirs),
        await client.post(f"/dossiers/{dossier_id}/withdraw", headers=theirs),
        await client.put(f"/dossiers/{dossier_id}", json=sample("TERRITORY"), headers=theirs),
    ):
        assert response.status_code == 404 and response.json()["code"] == "UNKNOWN_DOSSIER"
    assert [i["title"] for i in (await client.get("/dossiers", headers=theirs)).json()["items"]] == [
        SAMPLES["TERRITORY"]["title"]
    ]
    own = (await client.get(f"/dossiers/{dossier_id}", headers=mine)).json()
    assert "@" in own["dossier"]["applicants"][0]["contact"]["email"]  # its own contact, revealed
    audited = (await client.get(f"/dossiers/{dossier_id}", headers=auth("auditor"))).json()
    masked = audited["dossier"]["applicants"][0]["contact"]  # docs/personal-data.json
    assert masked["name"] == masked["email"] == "[masqué]"
    assert (await client.get("/dossiers", headers=auth("auditor"))).json()["total"] == 2
    assert (await client.get("/dossiers")).status_code == 401
    assert (await client.post("/dossiers", json=sample())).status_code == 401
    for role in ("auditor", "committee_member", "budget_officer"):
        assert (await submit(client, auth(role))).status_code == 403
        assert (await client.post(f"/dossiers/{dossier_id}/withdraw", headers=auth(role))).status_code == 403
    assert await last_seq() == 2


async def test_openapi_is_served(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert {
        "/dossiers",
        "/dossiers/{dossier_id}",
        "/dossiers/{dossier_id}/withdraw",
        "/dossiers/{dossier_id}/document",
    } <= set(schema["paths"])
