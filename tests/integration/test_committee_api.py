"""The committee over HTTP, in process, against a real nats-server and a simulated clock.

Intake's and eligibility's facts are appended straight into the store; the budget's answers
(CreditsReserved / ReservationRefused) are appended by the tests, as the budget would."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from aap_contract.dossier import Dossier
from aap_contract.events import (
    CreditsReserved,
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
    ReservationRefused,
    RuleFailure,
)
from aap_platform.clock import set_clock
from aap_platform.ids import stable_id
from aap_platform.store import EventStore
from services.committee.app import create_app
from tests.conftest import CALL

SCENARIO = json.loads((Path(__file__).resolve().parents[1] / "scenarios" / "02-full-call.json").read_text())
STEPS = SCENARIO["steps"]
DOSSIERS = {s["ref"]: msgspec.convert(s["dossier"], Dossier) for s in STEPS if "dossier" in s}  # SVI amended
SUBMITTED_AT = datetime.fromisoformat("2021-05-13T09:00:00+02:00")


@pytest.fixture
async def client(settings):
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def append(store: EventStore, aggregate: str, aggregate_id: str, data, event_id: str | None = None):
    loaded = await store.load(aggregate, aggregate_id)
    event = loaded.next(data, actor="test", at=SUBMITTED_AT, event_id=event_id)
    await store.append(event, loaded.version)
    return event


async def dossier(store: EventStore, ref: str, session: int = 1, eligible: bool = True, withdrawn: bool = False) -> str:
    """What intake and eligibility would have recorded; the dossier id is the scenario's ref."""
    submitted = await append(
        store, "dossier", ref, DossierSubmitted(dossier_id=ref, dossier=DOSSIERS[ref], session=session)
    )
    if withdrawn:
        await append(store, "dossier", ref, DossierWithdrawn(dossier_id=ref))
    failures = [] if eligible else [RuleFailure("COST_RANGE", "coût global hors bornes")]
    await append(
        store,
        "assessment",
        ref,
        EligibilityAssessed(dossier_id=ref, dossier_event_id=submitted.event_id, eligible=eligible, failures=failures),
        event_id=stable_id("assessment", submitted.event_id),
    )
    return ref


async def budget_answers(store: EventStore, recorded: dict, funded: bool = True) -> None:
    """The budget's answer to a selection (the response of POST /decisions)."""
    kind = CreditsReserved if funded else ReservationRefused
    extra = {} if funded else {"available_cents": 0}
    await append(
        store,
        "envelope",
        CALL,
        kind(
            dossier_id=recorded["dossier_id"],
            session=recorded["session"],
            selection_event_id=recorded["event_id"],
            amount_cents=recorded["granted_cents"],
            **extra,
        ),
    )


async def caught_up(client, store: EventStore) -> None:
    """Wait until the committee's view has seen the whole stream. The app runs on the test
    client's own event loop (thread): poll its position rather than share futures."""
    target = await store.last_sequence()
    projection = client.app.state.handlers.projection
    for _ in range(500):
        if projection.position >= target:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the committee's view never caught up")


async def clock(client, store: EventStore, at: str) -> None:
    """Set the simulated clock (on the test's own NATS connection) and wait until the service saw it."""
    revision = await set_clock(store.js, CALL, datetime.fromisoformat(at))
    runtime = client.app.state.runtime
    for _ in range(500):
        if runtime.clock.revision >= revision:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the service never saw the clock move")


def code(response) -> str | int:
    return response.status_code if response.status_code < 300 else response.json().get("code", response.status_code)


async def seed_full_call(store: EventStore) -> None:
    for ref in ("ETAT-CIVIL", "PORTAIL", "FORMATION", "SVI"):
        await dossier(store, ref)
    await dossier(store, "RETIRE", withdrawn=True)
    await dossier(store, "LABO", session=2)


async def play(client, store, auth, step: dict):
    """One scenario step of the committee, as the runner plays it; the budget answers selections."""
    await clock(client, store, step["at"])
    n = step["session"]
    if step["action"] == "review":
        body = {"dossier_id": step["ref"], "member_id": step["member"], "scores": step["scores"]}
        return await client.post(
            f"/sessions/{n}/reviews",
            json=body,
            headers=auth("committee_member", step["member"], member_id=step["member"]),
        )
    if step["action"] == "close_session":
        return await client.post(f"/sessions/{n}/close", headers=auth())
    body = {
        "dossier_id": step["ref"],
        "decision": step["decision"],
        **{k: step[k] for k in ("granted_cents", "motivation") if k in step},
    }
    response = await client.post(f"/sessions/{n}/decisions", json=body, headers=auth())
    if response.status_code == 201 and step["decision"] == "select":
        await budget_answers(store, response.json())
    return response


async def test_session_one_of_the_full_call(client, store, auth):
    await seed_full_call(store)
    await clock(client, store, "2021-05-14T20:00:00+02:00")
    early = await client.post(
        "/sessions/1/decisions",
        headers=auth(),
        json={"dossier_id": "ETAT-CIVIL", "decision": "select", "granted_cents": 4_500_000},
    )
    assert code(early) == "SESSION_NOT_OPEN"

    expected = {e["index"]: e for e in SCENARIO["expect"]["steps"]}
    for index in range(9, 18):
        if index == 17:  # before the closing step: what is not on the agenda, and unknown dossiers
            for ref, why in (("LABO", "NOT_ON_AGENDA"), ("RETIRE", "NOT_ON_AGENDA"), ("NOPE", "UNKNOWN_DOSSIER")):
                r = await client.post(
                    "/sessions/1/decisions",
                    headers=auth(),
                    json={"dossier_id": ref, "decision": "reject", "motivation": "x"},
                )
                assert code(r) == why, ref
            assert (
                await client.post(
                    "/sessions/1/decisions",
                    headers=auth(),
                    json={"dossier_id": "NOPE", "decision": "reject", "motivation": "x"},
                )
            ).status_code == 404
        response = await play(client, store, auth, STEPS[index])
        want = expected[index]
        assert code(response) == (201 if want["ok"] else want["error"]), (index, response.text)
        if not want["ok"]:
            assert response.json()["message"]  # a French sentence

    closed = response.json()
    assert (closed["type"], closed["laureates"], closed["not_retained"]) == (
        "SessionClosed",
        ["ETAT-CIVIL", "SVI"],
        ["FORMATION"],
    )
    await caught_up(client, store)
    reader = auth("auditor")
    one = (await client.get("/sessions/1", headers=reader)).json()
    assert (one["status"], one["laureates"]) == ("closed", ["ETAT-CIVIL", "SVI"])
    decisions = {r["dossier_id"]: (r["decision"], r["granted_cents"], r["funding"]) for r in one["agenda"]}
    assert decisions == {
        "ETAT-CIVIL": ("select", 4_500_000, "reserved"),
        "PORTAIL": ("defer", None, None),
        "FORMATION": ("reject", None, None),
        "SVI": ("select", 5_000_000, "reserved"),
    }
    sessions = (await client.get("/sessions", headers=reader)).json()["items"]
    assert [(s["number"], s["status"], s["agenda_size"]) for s in sessions] == [(1, "closed", 4), (2, "upcoming", 2)]
    two = (await client.get("/sessions/2", headers=reader)).json()
    assert sorted(r["dossier_id"] for r in two["agenda"]) == ["LABO", "PORTAIL"]

    ranking = (await client.get("/sessions/1/ranking", headers=reader)).json()["items"]
    assert [(r["dossier_id"], r["overall"]) for r in ranking[:2]] == [("ETAT-CIVIL", 2.75), ("PORTAIL", 1.5)]

    after = await client.post("/sessions/1/decisions", headers=auth(), json={"dossier_id": "LABO", "decision": "defer"})
    assert code(after) == "SESSION_CLOSED"
    assert code(await client.post("/sessions/1/close", headers=auth())) == "SESSION_CLOSED"
    session_events = (await store.load("session", "1")).events
    assert [e.type for e in session_events].count("SessionClosed") == 1

    audit = (await client.get("/audit/views", headers=reader)).json()
    assert audit[0]["live_digest"] == audit[0]["rebuilt_digest"]  # the replay gives the live view

    metrics = (await client.get("/metrics", headers=auth("auditor"))).text
    assert 'aap_committee_agenda{session="2"} 2.0' in metrics
    assert 'aap_committee_decisions{decision="select",session="1"} 2.0' in metrics


async def test_unfunded_selection_returns_to_the_agenda(client, store, auth):
    await dossier(store, "ETAT-CIVIL")
    await dossier(store, "FORMATION")
    await dossier(store, "MOBILITE", eligible=False)
    await clock(client, store, "2021-05-20T10:00:00+02:00")
    decide = lambda body: client.post("/sessions/1/decisions", json=body, headers=auth())  # noqa: E731
    assert code(await decide({"dossier_id": "FORMATION", "decision": "reject", "motivation": "Hors sujet."})) == 201
    selected = await decide({"dossier_id": "ETAT-CIVIL", "decision": "select", "granted_cents": 4_500_000})
    assert code(selected) == 201
    assert selected.json()["decision"] == "select" and selected.json()["event_id"]
    assert code(await client.post("/sessions/1/close", headers=auth())) == "OPEN_ITEMS"  # awaits the budget

    await budget_answers(store, selected.json(), funded=False)
    await caught_up(client, store)
    row = (await client.get("/sessions/1", headers=auth("committee_member", member_id="referent-62"))).json()
    etat = next(r for r in row["agenda"] if r["dossier_id"] == "ETAT-CIVIL")
    assert (etat["status"], etat["decision"], etat["funding"]) == ("selection_unfunded", None, "refused")
    assert code(await client.post("/sessions/1/close", headers=auth())) == "OPEN_ITEMS"  # back on the agenda

    again = await decide({"dossier_id": "ETAT-CIVIL", "decision": "select", "granted_cents": 3_000_000})
    assert code(again) == 201
    await budget_answers(store, again.json())
    closed = await client.post("/sessions/1/close", headers=auth())
    assert code(closed) == 201
    assert (closed.json()["laureates"], closed.json()["not_retained"]) == (["ETAT-CIVIL"], ["FORMATION", "MOBILITE"])


async def test_concurrent_decisions_on_one_dossier_record_exactly_one(client, store, auth):
    for ref in ("ETAT-CIVIL", "PORTAIL", "FORMATION", "SVI"):
        await dossier(store, ref)
    await clock(client, store, "2021-05-20T10:00:00+02:00")
    bodies = [
        {"dossier_id": "ETAT-CIVIL", "decision": "select", "granted_cents": 4_500_000},
        {"dossier_id": "ETAT-CIVIL", "decision": "reject", "motivation": "Non."},
        {"dossier_id": "ETAT-CIVIL", "decision": "select", "granted_cents": 3_000_000},
    ]
    others = [
        {"dossier_id": ref, "decision": "reject", "motivation": "Non."} for ref in ("PORTAIL", "FORMATION", "SVI")
    ]
    responses = await asyncio.gather(
        *(client.post("/sessions/1/decisions", json=b, headers=auth()) for b in bodies + others)
    )
    codes = [code(r) for r in responses]
    assert sorted(codes[:3], key=str) == [201, "ALREADY_DECIDED", "ALREADY_DECIDED"]
    assert codes[3:] == [201, 201, 201]  # other dossiers: re-decided, all recorded
    decided = [e.data.dossier_id for e in (await store.load("session", "1")).events]
    assert sorted(decided) == ["ETAT-CIVIL", "FORMATION", "PORTAIL", "SVI"]


async def test_roles_validation_and_unknown_session(client, store, auth):
    await dossier(store, "ETAT-CIVIL")
    await clock(client, store, "2021-05-20T10:00:00+02:00")
    review = {
        "dossier_id": "ETAT-CIVIL",
        "member_id": "referent-62",
        "scores": {"diagnosis": 3, "co_construction": 2, "roadmap": 1, "free_software": None},
    }
    assert (await client.get("/sessions")).status_code == 401
    assert (await client.get("/sessions", headers=auth("applicant", sirens=["200000172"]))).status_code == 403
    assert (
        await client.post(
            "/sessions/1/decisions",
            headers=auth("committee_member", member_id="referent-62"),
            json={"dossier_id": "ETAT-CIVIL", "decision": "defer"},
        )
    ).status_code == 403
    as_other = await client.post(
        "/sessions/1/reviews", json=review, headers=auth("committee_member", member_id="referent-59")
    )
    assert as_other.status_code == 403
    own = await client.post(
        "/sessions/1/reviews", json=review, headers=auth("committee_member", member_id="referent-62")
    )
    assert own.status_code == 201 and own.json()["member_id"] == "referent-62"

    bad = await client.post(
        "/sessions/1/reviews",
        headers=auth("admin"),
        json={
            "dossier_id": "ETAT-CIVIL",
            "member_id": "referent-62",
            "scores": {"diagnosis": 4, "co_construction": -1, "roadmap": 1},
        },
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["extra"]} == {"scores.diagnosis", "scores.co_construction"}
    unknown_member = await client.post(
        "/sessions/1/reviews", headers=auth("admin"), json={**review, "member_id": "inconnu"}
    )
    assert unknown_member.status_code == 422 and unknown_member.json()["extra"][0]["field"] == "member_id"
    for body, field in (
        ({"dossier_id": "ETAT-CIVIL", "decision": "select"}, "granted_cents"),
        ({"dossier_id": "ETAT-CIVIL", "decision": "reject", "motivation": " "}, "motivation"),
        ({"dossier_id": "ETAT-CIVIL", "decision": "keep"}, "decision"),
    ):
        r = await client.post("/sessions/1/decisions", json=body, headers=auth())
        assert r.status_code == 422 and [e["field"] for e in r.json()["extra"]] == [field]

    missing = await client.get("/sessions/3", headers=auth())
    assert missing.status_code == 404 and "session 3" in missing.json()["message"]
    assert (await client.post("/sessions/9/close", headers=auth())).status_code == 404
    assert len((await store.load("session", "1")).events) == 1  # only the member's own review
