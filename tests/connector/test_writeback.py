"""The decisions written back to DN, each exactly once: the connector, intake and eligibility as
apps over HTTP in this event loop, the committee's facts appended as the committee would."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import msgspec

from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    ProjectRejected,
    ProjectSelected,
    ReviewRecorded,
    Scores,
    SessionClosed,
)
from aap_platform.reactor import parked_stream
from services.connector.sync import dossier_id_for
from tests.conftest import CALL
from tests.connector.fake_dn import TOKEN, serve

FIRST = 7_000_000
STATE_CHANGES = ("dossierPasserEnInstruction", "dossierAccepter", "dossierRefuser")


async def until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def connector_app(settings, dn, intake, token):
    from services.connector.app import create_app

    env = {
        "AAP_DN_TOKEN": TOKEN,
        "AAP_DN_URL": dn.url + "/api/v2/graphql",
        "AAP_INTAKE_URL": intake.state.url,
        "AAP_CONNECTOR_TOKEN": token("connector", "connector"),
    }
    app = create_app(settings, env=env)
    async with serve(app) as url:
        app.state.url = url
        yield app


@asynccontextmanager
async def notifier_app(settings):
    from services.notifier.app import create_app

    async with serve(create_app(settings)) as url:
        yield url


@asynccontextmanager
async def eligibility_app(settings):
    from services.eligibility.app import create_app

    async with serve(create_app(settings)) as url:
        yield url


async def append(store, aggregate_type: str, aggregate_id: str, data):
    """Append as the committee or the budget would (this test plays them)."""
    loaded = await store.load(aggregate_type, aggregate_id)
    event = loaded.next(data, actor="test", at=datetime.now(UTC))
    await store.append(event, loaded.version)
    return event


def state_changes(dn) -> Counter:
    return Counter((m, n) for m, n in dn.mutations if m in STATE_CHANGES)


async def test_every_write_back_happens_exactly_once_after_the_session_closes(dn, intake, settings, token, store):
    numbers = [FIRST + i for i in range(6)]
    for n in numbers[:5]:
        dn.add("standard", n)
    dn.add("standard", numbers[5], cost="20000")  # ineligible: COST_RANGE
    ids = {n: dossier_id_for(CALL, n) for n in numbers}
    async with (
        eligibility_app(settings),
        notifier_app(settings) as notifier,
        connector_app(settings, dn, intake, token) as app,
    ):
        # the first pass imports; each assessment puts the dossier in instruction, annotated
        # 6 in instruction, 6 annotated, 1 refused; then each write-back is recorded
        await until(lambda: len(dn.mutations) == 6 + 6 + 1)
        await until(lambda: app.state.handlers.view.state.write_backs == 13)
        assert dn.state_of(numbers[5]) == "refuse" and dn.state_of(numbers[0]) == "en_instruction"
        assert dn.annotations[(numbers[5], "Q2hhbXAtMTg2MjM0Mg==")].startswith("Inéligible")

        async with httpx.AsyncClient() as http:  # our mutations moved the dossiers in DN
            last = await store.last_sequence()
            handlers = app.state.handlers
            before = handlers.loop.last_at
            handlers.loop.trigger()
            await until(lambda: handlers.loop.last_at != before and not handlers.loop.running)
            assert await store.last_sequence() == last  # same content: nothing imported again
            ready = (await http.get(app.state.url + "/health/ready")).json()
            assert ready["dn"]["reachable"] is True and ready["dn"]["last_sync_error"] is None

        dn.mutation_errors["dossierAccepter"] = 2  # answered with `errors` twice, then fine
        for n in numbers[:2]:
            await append(store, "session", "1", ReviewRecorded(1, ids[n], "referent-59", Scores(3, 2, 2, None)))
            selected = await append(store, "session", "1", ProjectSelected(1, ids[n], 3_000_000))
            await append(store, "envelope", CALL, CreditsReserved(ids[n], 1, selected.event_id, 3_000_000))
            await append(store, "envelope", CALL, CreditsCommitted(ids[n], 3_000_000, f"EJ-{n}"))
        for n in numbers[2:5]:
            await append(store, "session", "1", ProjectRejected(1, ids[n], "Projet moins abouti que d'autres."))
        await append(
            store, "session", "1", SessionClosed(1, [ids[n] for n in numbers[:2]], [ids[n] for n in numbers[2:5]])
        )
        await until(lambda: len(state_changes(dn)) == 6 + 2 + 4)
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient() as http:  # the SCDL list: each lauréat with the SIRET DN gave
            scdl = (await http.get(notifier + "/laureates.csv")).text
        for n in numbers[:2]:
            siret = dn.node(n)["demandeur"]["siret"]
            assert f",{siret}," in scdl
    assert set(state_changes(dn).values()) == {1}  # every state change exactly once
    assert [dn.state_of(n) for n in numbers] == ["accepte"] * 2 + ["refuse"] * 4
    assert dn.annotations[(numbers[0], "Q2hhbXAtMTg2MjM0Mw==")] == 2.33

    done = Counter()
    for seq in range(1, await store.last_sequence() + 1):
        event = msgspec.json.decode((await store.js.get_msg(store.stream, seq)).data)
        if event["type"] == "DnWriteBackDone":
            done[(event["data"]["dossier_id"], event["data"]["key"])] += 1
    assert set(done.values()) == {1} and len(done) == 6 + 6 + 1 + 2 + 2 + 3

    # a restart (the durable reactor resumes after the last ack) and a full redelivery change nothing
    calls = len(dn.mutations)
    async with connector_app(settings, dn, intake, token) as again:
        closed = next(e for e in (await store.load("session", "1")).events if e.type == "SessionClosed")
        assert await again.state.handlers.write_back_session(closed) == 0
        await asyncio.sleep(0.5)
    assert len(dn.mutations) == calls


async def test_a_mutation_that_keeps_failing_is_parked_never_recorded(dn, intake, settings, token, store, nc):
    dn.add("standard", FIRST)
    dn.mutation_errors["dossierPasserEnInstruction"] = 100
    async with eligibility_app(settings), connector_app(settings, dn, intake, token):

        async def parked() -> int:
            try:
                return (await nc.jetstream().stream_info(parked_stream(store))).state.messages
            except Exception:  # noqa: BLE001
                return 0

        deadline = time.monotonic() + 20
        while await parked() == 0:
            assert time.monotonic() < deadline, "never parked"
            await asyncio.sleep(0.2)
    assert dn.mutations == [] and dn.state_of(FIRST) == "en_construction"
    state = await store.load("dndossier", dossier_id_for(CALL, FIRST))
    assert [e.type for e in state.events] == ["DnDossierImported"]
