"""An answer that tells the truth, against a real nats-server that the tests stop, restart or
pause: a bus failure is a 503 with `Retry-After` and the `Idempotency-Key` to retry with, that
says "not recorded" only when nothing was sent; a retry with the key never records twice; the
same key with another body is 422. Every assertion on what was recorded reads the stream itself."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import pytest
from litestar.testing import AsyncTestClient

from aap_platform.codec import decode
from aap_platform.natsauth import TEST_ROOT, connect_as
from aap_platform.natsserver import EmbeddedNats
from aap_platform.store import stream_name
from tests.conftest import CALL
from tests.integration.test_intake_api import sample


async def recorded(server: EmbeddedNats) -> list[tuple[str, str, dict]]:
    """Every event of the call's stream, read on a fresh connection: (type, event id, data)."""
    nc = await connect_as(server.url, server.credentials[TEST_ROOT])
    try:
        js = nc.jetstream()
        last = (await js.stream_info(stream_name(CALL))).state.last_seq
        out = []
        for seq in range(1, last + 1):
            msg = await js.get_msg(stream_name(CALL), seq)
            assert msg.data is not None
            event = decode(msg.data)
            out.append((event.type, event.event_id, {f: getattr(event.data, f) for f in event.data.__struct_fields__}))
        return out
    finally:
        await nc.close()


def submissions(events, dossier_id: str | None = None) -> list:
    return [
        e for e in events if e[0] == "DossierSubmitted" and (dossier_id is None or e[2]["dossier_id"] == dossier_id)
    ]


async def until(condition, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.05)


def connected(client) -> bool:
    connection = client.app.state.runtime.broker.connection
    return connection is not None and connection.is_connected


@pytest.fixture
async def intake(settings, monkeypatch):
    from services.intake.app import create_app

    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def at_intake_window(client, store) -> None:
    from tests.integration.test_committee_api import clock

    await clock(client, store, "2021-04-06T09:30:00+02:00")


def problem(response) -> dict:
    body = response.json()
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_broker_down_answers_503_not_recorded_and_the_returned_key_records_once(
    intake, store, provisioned, auth, caplog
):
    agent = auth("instructor")
    await at_intake_window(intake, store)
    assert (await intake.post("/dossiers", json=sample(), headers=agent)).status_code == 201
    before = len(submissions(await recorded(provisioned)))

    await provisioned.astop()
    await until(lambda: not connected(intake), "the service saw the broker go")
    started = time.monotonic()
    down = await intake.post("/dossiers", json=sample(), headers=agent)
    took = time.monotonic() - started
    print(f"503 while the broker is down in {took * 1000:.0f} ms")
    body = problem(down)
    key = down.headers["idempotency-key"]
    assert key and body["idempotency_key"] == key
    assert body["code"] == "NOT_RECORDED" and "non enregistré" in body["detail"]
    assert took < 3.0
    assert any("503 NOT_RECORDED" in r.getMessage() and body["request_id"] in r.getMessage() for r in caplog.records), (
        "the 503 is logged with its cause and request id"
    )

    provisioned.start()
    await until(lambda: connected(intake), "the service reconnected")
    await asyncio.sleep(1.0)  # what a reconnect buffer would have sent is sent by now
    assert len(submissions(await recorded(provisioned))) == before  # answered "not recorded": it is not

    retry = await intake.post("/dossiers", json=sample(), headers={**agent, "Idempotency-Key": key})
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotency-key"] == key and "idempotent-replayed" not in retry.headers
    again = await intake.post("/dossiers", json=sample(), headers={**agent, "Idempotency-Key": key})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == retry.json()
    events = await recorded(provisioned)
    assert len(submissions(events)) == before + 1
    assert len(submissions(events, retry.json()["dossier_id"])) == 1


async def test_no_answer_from_the_broker_is_an_unknown_outcome_and_the_key_replays_it(intake, store, provisioned, auth):
    """The server paused (SIGSTOP) after the service connected: the append is sent and its
    acknowledgement never comes. The answer says the outcome is unknown; once the server
    resumes it stores the event, and the retry with the key replays it: one dossier."""
    agent = auth("instructor")
    await at_intake_window(intake, store)
    first = await intake.post("/dossiers", json=sample(), headers=agent)  # the contacts' keys are known
    assert first.status_code == 201 and first.headers["idempotency-key"]
    assert provisioned.proc is not None
    pid = provisioned.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        lost = await intake.post("/dossiers", json=sample(), headers=agent)
        print(f"503 with no answer from the broker in {(time.monotonic() - started) * 1000:.0f} ms")
    finally:
        os.kill(pid, signal.SIGCONT)
    body = problem(lost)
    key = lost.headers["idempotency-key"]
    assert body["code"] == "OUTCOME_UNKNOWN" and "issue inconnue : réessayez avec la même clé" in body["detail"]

    retry = await intake.post("/dossiers", json=sample(), headers={**agent, "Idempotency-Key": key})
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"  # the server had stored it when it resumed
    events = await recorded(provisioned)
    assert len(submissions(events, retry.json()["dossier_id"])) == 1
    assert len(submissions(events)) == 2


async def test_same_key_another_body_is_422_and_records_nothing(intake, store, provisioned, auth):
    agent = auth("instructor")
    await at_intake_window(intake, store)
    key = {"Idempotency-Key": "dossier-du-lundi"}
    first = await intake.post("/dossiers", json=sample("OK-1"), headers={**agent, **key})
    assert first.status_code == 201 and first.headers["idempotency-key"] == "dossier-du-lundi"
    before = await recorded(provisioned)
    other = await intake.post("/dossiers", json=sample("TERRITORY"), headers={**agent, **key})
    assert other.status_code == 422, other.text
    assert other.json()["extra"][0]["field"] == "Idempotency-Key" and "déjà" in other.json()["detail"]
    assert await recorded(provisioned) == before
    # the same key for another actor is another key
    mine = await intake.post("/dossiers", json=sample("TERRITORY"), headers={**auth("instructor", "autre"), **key})
    assert mine.status_code == 201 and mine.json()["dossier_id"] != first.json()["dossier_id"]
    too_long = await intake.post("/dossiers", json=sample(), headers={**agent, "Idempotency-Key": "k" * 201})
    assert too_long.status_code == 422 and too_long.json()["extra"][0]["field"] == "Idempotency-Key"


def loads_meet(client, aggregate: str, count: int) -> None:
    """The next `count` loads of `aggregate` wait for each other (at most 5 s): the requests
    all decide on the same state, the race the test is about (without it, one request may
    finish before the next one starts). The loads themselves are the store's own."""
    store = client.app.state.runtime.store
    real = store.load
    waiting: list[asyncio.Future] = []

    async def load(aggregate_type: str, aggregate_id: str, after: int = 0):
        loaded = await real(aggregate_type, aggregate_id, after)
        if aggregate_type == aggregate and len(waiting) < count:
            met = asyncio.get_running_loop().create_future()
            waiting.append(met)
            if len(waiting) == count:
                for other in waiting:
                    other.set_result(None) if not other.done() else None
            await asyncio.wait_for(asyncio.shield(met), 5)
        return loaded

    store.load = load


async def racing_submissions(client, refs: list[str], key: str) -> list:
    """Submissions with one key, run at once in the service's own event loop (the test client
    serves one HTTP request at a time): True/False (replayed or not) or the exception raised."""
    from aap_platform.auth import Principal
    from services.intake.schemas import parse_dossier

    handlers = client.app.state.handlers
    who = Principal("agent", "instructor")
    loads_meet(client, "dossier", len(refs))

    async def race() -> list:
        dossiers = [parse_dossier(json.dumps(sample(ref)).encode(), handlers.runtime.call) for ref in refs]
        results = await asyncio.gather(*(handlers.submit(d, who, key) for d in dossiers), return_exceptions=True)
        return [r if isinstance(r, BaseException) else r[1] for r in results]

    return await asyncio.to_thread(client.blocking_portal.call, race)


async def test_concurrent_requests_with_one_key_record_one_dossier_and_say_which_replayed(
    intake, store, provisioned, auth
):
    await at_intake_window(intake, store)
    replayed = await racing_submissions(intake, ["OK-1"] * 3, "course")
    assert sorted(replayed) == [False, True, True], replayed  # one recorded, two replays of it
    assert len(submissions(await recorded(provisioned))) == 1
    # over HTTP, a replay says so
    again = await intake.post("/dossiers", json=sample(), headers={**auth("instructor"), "Idempotency-Key": "course"})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


async def test_concurrent_requests_with_one_key_and_two_bodies_record_one_and_refuse_the_other(
    intake, store, provisioned
):
    from aap_platform.idempotency import KeyReused

    await at_intake_window(intake, store)
    results = await racing_submissions(intake, ["OK-1", "TERRITORY"], "course-2")
    assert sorted(type(r).__name__ for r in results) == ["KeyReused", "bool"], results
    assert [r for r in results if not isinstance(r, KeyReused)] == [False]
    stored = submissions(await recorded(provisioned))
    assert len(stored) == 1


# --- committee: a decision retried after a lost answer ----------------------------------------


@pytest.fixture
async def committee(settings):
    from services.committee.app import create_app

    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


def decisions(events) -> list:
    return [e for e in events if e[0] in ("ProjectSelected", "ProjectRejected", "ProjectDeferred")]


async def test_a_decision_retried_with_its_key_is_replayed_not_already_decided(committee, store, provisioned, auth):
    from tests.integration.test_committee_api import clock, dossier

    await dossier(store, "ETAT-CIVIL")
    await clock(committee, store, "2021-05-20T10:00:00+02:00")
    body = {"dossier_id": "ETAT-CIVIL", "decision": "select", "granted_cents": 4_500_000}
    keyed = {**auth(), "Idempotency-Key": "decision-etat-civil"}
    first = await committee.post("/sessions/1/decisions", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    retry = await committee.post("/sessions/1/decisions", json=body, headers=keyed)
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    other = {**body, "granted_cents": 3_000_000}
    assert (await committee.post("/sessions/1/decisions", json=other, headers=keyed)).status_code == 422
    unkeyed = await committee.post("/sessions/1/decisions", json=body, headers=auth())
    assert unkeyed.status_code == 409 and unkeyed.json()["code"] == "ALREADY_DECIDED"  # no key: a new decision
    recorded_decisions = decisions(await recorded(provisioned))
    assert [(e[1], e[2]["granted_cents"]) for e in recorded_decisions] == [(first.json()["event_id"], 4_500_000)]


async def test_a_decision_while_the_broker_is_down_is_503_with_its_key(committee, store, provisioned, auth):
    from tests.integration.test_committee_api import clock, dossier

    await dossier(store, "ETAT-CIVIL")
    await clock(committee, store, "2021-05-20T10:00:00+02:00")
    body = {"dossier_id": "ETAT-CIVIL", "decision": "reject", "motivation": "Hors sujet."}
    keyed = {**auth(), "Idempotency-Key": "rejet-1"}
    await provisioned.astop()
    await until(lambda: not connected(committee), "the service saw the broker go")
    down = await committee.post("/sessions/1/decisions", json=body, headers=keyed)
    assert problem(down)["code"] == "NOT_RECORDED" and down.headers["idempotency-key"] == "rejet-1"
    provisioned.start()
    await until(lambda: connected(committee), "the service reconnected")
    assert decisions(await recorded(provisioned)) == []
    retried = await committee.post("/sessions/1/decisions", json=body, headers=keyed)
    assert retried.status_code == 201, retried.text
    assert len(decisions(await recorded(provisioned))) == 1


# --- budget: a commitment retried after a lost answer -----------------------------------------


@pytest.fixture
async def budget(settings):
    from services.budget.app import create_app

    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def test_a_commitment_retried_with_its_key_is_replayed_once(budget, store, provisioned, token):
    from tests.integration.test_budget_api import clock, prepare

    officer = {"Authorization": f"Bearer {token('budget_officer', 'agent-budget')}", "Idempotency-Key": "ej-a"}
    await prepare(budget, store)
    await clock(budget, store, "2021-09-15T10:00:00+02:00")
    body = {"dossier_id": "A", "legal_reference": "EJ-2100012345"}
    first = await budget.post("/commitments", json=body, headers=officer)
    assert first.status_code == 201, first.text
    retry = await budget.post("/commitments", json=body, headers=officer)
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert (
        retry.json()
        == first.json()
        == {"dossier_id": "A", "committed_cents": 4_500_000, "legal_reference": body["legal_reference"]}
    )
    other = await budget.post("/commitments", json={**body, "legal_reference": "EJ-AUTRE"}, headers=officer)
    assert other.status_code == 422 and other.json()["extra"][0]["field"] == "Idempotency-Key"
    fresh_key = await budget.post("/commitments", json=body, headers={**officer, "Idempotency-Key": "ej-a-bis"})
    assert fresh_key.status_code == 409 and fresh_key.json()["code"] == "NOT_SELECTED"  # a new commitment: refused
    commitments = [e for e in await recorded(provisioned) if e[0] == "CreditsCommitted"]
    assert [(e[2]["dossier_id"], e[2]["legal_reference"]) for e in commitments] == [("A", "EJ-2100012345")]
