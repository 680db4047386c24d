"""Intake's imports (the connector's way in): submitted, amended or unchanged at the other
platform's instant, only for the connector (and admin), ids fit for a NATS subject."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from services.intake.app import create_app
from tests.pdf import tiny_pdf

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json"
DOSSIER = next(s["dossier"] for s in json.loads(SCENARIO.read_text())["steps"] if s["action"] == "submit")
PDF = tiny_pdf("note")


@pytest.fixture
async def client(settings):
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


def body(at: str, **change) -> dict:
    return {"submitted_at": at, "dossier": {**copy.deepcopy(DOSSIER), **change}}


async def test_an_import_is_submitted_then_unchanged_then_amended_at_the_platforms_instant(client, auth, store):
    connector = auth("connector", "connector")
    first = await client.put("/imports/dn-1", json=body("2021-05-14T23:41:37+02:00"), headers=connector)
    assert first.status_code == 200 and first.json() == {"dossier_id": "dn-1", "action": "submitted", "session": 1}
    last = await store.last_sequence()
    again = await client.put("/imports/dn-1", json=body("2021-05-20T10:00:00+02:00"), headers=connector)
    assert again.json()["action"] == "unchanged" and await store.last_sequence() == last
    changed = await client.put(
        "/imports/dn-1", json=body("2021-05-10T09:00:00+02:00", title="Autre"), headers=connector
    )
    assert changed.json()["action"] == "amended"
    document = await client.put(
        "/imports/dn-1/document",
        params={"at": "2021-05-10T09:00:00+02:00", "filename": "note.pdf"},
        content=PDF,
        headers={**connector, "Content-Type": "application/pdf"},
    )
    assert document.status_code == 200 and document.json()["size"] == len(PDF)


async def test_imports_are_refused_to_applicants_outside_the_window_and_with_bad_input(client, auth):
    connector = auth("connector", "connector")
    applicant = auth("applicant", "a", sirens=[DOSSIER["applicants"][0]["siren"]])
    assert (
        await client.put("/imports/dn-2", json=body("2021-05-01T10:00:00+02:00"), headers=applicant)
    ).status_code == 403
    late = await client.put("/imports/dn-2", json=body("2021-07-01T00:00:01+02:00"), headers=connector)
    assert late.status_code == 409 and late.json()["code"] == "WINDOW"
    naive = await client.put("/imports/dn-2", json=body("2021-05-01T10:00:00"), headers=connector)
    assert naive.status_code == 422 and naive.json()["extra"][0]["field"] == "submitted_at"
    bad_id = await client.put("/imports/dn.2", json=body("2021-05-01T10:00:00+02:00"), headers=connector)
    assert bad_id.status_code == 422


async def test_the_connector_may_withdraw_but_not_submit_through_the_applicants_routes(client, auth):
    connector = auth("connector", "connector")
    assert (await client.post("/dossiers", json=DOSSIER, headers=connector)).status_code == 403
    await client.put("/imports/dn-3", json=body("2021-05-01T10:00:00+02:00"), headers=connector)
    assert (
        await client.post("/dossiers/dn-3/withdraw", json={"reason": "supprimé"}, headers=connector)
    ).status_code in (
        200,
        409,  # on the real clock, past the relevé: LOCKED
    )
