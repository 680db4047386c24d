"""Nobody writes history but the service that owns it, and the log cannot shrink unseen: forged
and contract-breaking events refused by the services and found by `aap audit verify`; a stream
shrunk, a consumer or a stream deleted, seen by the services (not ready) and by the audit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient

from aap.audit.log import read_stream
from aap.audit.verify import verify
from aap.cli import main
from aap_contract.config import load_call
from aap_contract.events import DossierWithdrawn, ProjectSelected, SessionClosed
from aap_platform.natsauth import connect_as
from aap_platform.reactor import parked_stream
from aap_platform.seal import Sealer, seal_file
from aap_platform.signing import KEYRING, Keyring, Signer, events_key_dir
from aap_platform.store import EventStore, stream_name
from services.budget.app import create_app as budget_app
from services.intake.app import create_app as intake_app
from services.notifier.app import create_app as notifier_app
from tests.conftest import CALL, connect

STREAM = stream_name(CALL)
AT = datetime(2021, 6, 1, tzinfo=UTC)


def keyring(data_dir) -> Keyring:
    return Keyring.from_file(events_key_dir(data_dir) / KEYRING)


async def records(store):
    return [r async for r in read_stream(store)]


async def caught_up(runtime, store) -> None:
    last = await store.last_sequence()
    for _ in range(500):
        if runtime.position >= last:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the service did not catch up")


async def cli(capsys, *argv) -> tuple[int, str]:
    """`aap …` in process (in a thread: it runs its own event loop)."""
    code = await asyncio.to_thread(main, list(argv))
    return code, capsys.readouterr().out


async def test_forged_and_contract_breaking_events_are_refused_and_reported(
    provisioned, settings, store, data_dir, token, capsys
):
    committee = await connect(provisioned, "committee")  # a stolen NATS identity, without its signing key
    try:
        unsigned = EventStore(committee.jetstream(), CALL)  # appends unsigned
        loaded = await store.load("session", "1")
        forged = loaded.next(ProjectSelected(session=1, dossier_id="D1", granted_cents=50_000_000), actor="x", at=AT)
        await unsigned.append(forged, loaded.version)
        loaded = await store.load("session", "1")
        intruder = Signer("committee", Ed25519PrivateKey.generate())  # a key of the intruder's own
        other_key = EventStore(committee.jetstream(), CALL, signer=intruder)
        await other_key.append(
            loaded.next(ProjectSelected(session=1, dossier_id="D2", granted_cents=40_000_000), actor="x", at=AT),
            loaded.version,
        )
    finally:
        await committee.close()
    # A stolen signing key still cannot write outside the contract: a session the call does not have.
    loaded = await store.load("session", "3")
    await store.append(
        loaded.next(SessionClosed(session=3, laureates=["D3"], not_retained=[]), actor="committee", at=AT), 0
    )
    loaded = await store.load("session", "1")
    await store.append(
        loaded.next(ProjectSelected(session=3, dossier_id="D4", granted_cents=1), actor="committee", at=AT),
        loaded.version,
    )

    app = budget_app(settings)
    async with AsyncTestClient(app=app) as client:
        await caught_up(app.state.runtime, store)
        for _ in range(200):
            parked = (await store.js.stream_info(parked_stream(store))).state.messages
            if parked >= 3:
                break
            await asyncio.sleep(0.02)
        budget = (await client.get("/budget", headers={"Authorization": f"Bearer {token('auditor')}"})).json()
        metrics = (await client.get("/metrics", headers={"Authorization": f"Bearer {token('auditor')}"})).text
    assert budget["reserved_cents"] == 0 and budget["committed_cents"] == 0
    assert parked == 3  # the SessionClosed of session 3 is no event the budget acts on
    assert 'aap_refused_events_total{service="budget"} 3.0' in metrics

    app = notifier_app(settings)  # the notifier acts on it: refused, no lauréat of a session 3
    async with AsyncTestClient(app=app) as client:
        await caught_up(app.state.runtime, store)
        laureates = (await client.get("/laureates")).json()
    assert "3" not in laureates["sessions"] and "D3" not in json.dumps(laureates)

    verdict = verify(await records(store), keyring(data_dir), call=load_call(CALL))
    found = {(f.seq, f.kind) for f in verdict.findings}
    assert found == {(1, "UNSIGNED"), (2, "FORGED"), (3, "BREACH"), (4, "BREACH")}

    code, out = await cli(capsys, "audit", "verify", "--nats-url", provisioned.url, "--data-dir", str(data_dir))
    assert code == 1
    assert "NON SIGNÉ à l'événement n° 1" in out and "FALSIFIÉ à l'événement n° 2" in out
    assert "HORS CONTRAT à l'événement n° 3" in out
    print(out)


async def seal_now(store, data_dir) -> int:
    sealer = Sealer(store, "committee", seal_file(data_dir / "seals", CALL))
    await sealer.start()
    try:
        last = await store.last_sequence()
        for _ in range(500):
            if sealer.digest.seq >= last:
                break
            await asyncio.sleep(0.01)
        seq = await sealer.seal("session_closed")
        assert seq is not None
        return seq
    finally:
        await sealer.stop()


async def withdrawals(store, n: int, prefix: str = "d") -> None:
    for i in range(n):
        loaded = await store.load("dossier", f"{prefix}{i}")
        await store.append(loaded.next(DossierWithdrawn(f"{prefix}{i}", "r"), actor="intake", at=AT), loaded.version)


async def test_a_shrunk_stream_is_seen_by_the_services_and_by_the_audit(provisioned, settings, store, data_dir, capsys):
    await withdrawals(store, 30)
    sealed = await seal_now(store, data_dir)
    await withdrawals(store, 5, "e")
    code, out = await cli(capsys, "audit", "verify", "--nats-url", provisioned.url, "--data-dir", str(data_dir))
    assert code == 0 and "intégrité vérifiée" in out and "1 scellé(s)" in out, out

    settings = msgspec.structs.replace(settings, check_seconds=0.1)
    app = intake_app(settings)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/ready")).status_code == 200
        admin = await connect(provisioned, "admin")
        try:
            info = await admin.jetstream().stream_info(STREAM)
            await admin.jetstream().update_stream(dataclasses.replace(info.config, max_msgs=20))
        finally:
            await admin.close()
        for _ in range(100):
            ready = await client.get("/health/ready")
            if ready.status_code == 503:
                break
            await asyncio.sleep(0.05)
        assert ready.status_code == 503 and not ready.json()["ready"]
        problems = " ".join(ready.json()["problems"])
        assert "max_msgs is 20" in problems and "first event is #" in problems
        metrics = (await client.get("/metrics", headers=auth_header(data_dir))).text
        assert 'aap_stream_problems{service="intake"}' in metrics

    code, out = await cli(capsys, "audit", "verify", "--nats-url", provisioned.url, "--data-dir", str(data_dir))
    assert code == 1
    assert "MANQUANT à l'événement n° 1 : les événements 1 à 16 manquent" in out
    assert f"le journal jusqu'au n° {sealed - 1} ne correspond plus à son scellé" in out
    print(out)


def auth_header(data_dir) -> dict:
    from aap_platform.auth import issue_token

    return {
        "Authorization": "Bearer " + issue_token(data_dir / "keys" / "jwt-private.pem", role="auditor", subject="t")
    }


async def test_a_deleted_stream_or_consumer_is_not_ready_not_500(provisioned, settings, store, data_dir, capsys, auth):
    from services.eligibility.app import create_app as eligibility_app

    await withdrawals(store, 3)
    await seal_now(store, data_dir)
    settings = msgspec.structs.replace(settings, check_seconds=0.1)
    app = eligibility_app(settings)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/ready")).status_code == 200
        admin = await connect(provisioned, "admin")
        try:
            await admin.jetstream().delete_consumer(STREAM, "eligibility-reactor")
            ready = await client.get("/health/ready")
            assert ready.status_code == 503 and "consumer eligibility-reactor is missing" in ready.json()["problems"]
            await admin.jetstream().delete_stream(STREAM)
        finally:
            await admin.close()
        for _ in range(100):
            ready = await client.get("/health/ready")
            if any("is missing" in p and "stream" in p for p in ready.json()["problems"]):
                break
            await asyncio.sleep(0.05)
        assert ready.status_code == 503
        answer = await client.get("/assessments", headers=auth("auditor"))
        assert answer.status_code < 500 or answer.status_code == 503

    code, out = await cli(capsys, "audit", "verify", "--nats-url", provisioned.url, "--data-dir", str(data_dir))
    assert code == 1 and f"MANQUANT : le flux {STREAM} n'existe pas" in out
    print(out)

    admin = await connect(provisioned, "admin")  # recreated empty: the seals kept outside still speak
    try:
        await EventStore(admin.jetstream(), CALL).ensure_stream()
    finally:
        await admin.close()
    code, out = await cli(capsys, "audit", "verify", "--nats-url", provisioned.url, "--data-dir", str(data_dir))
    assert code == 1 and "le journal est VIDE alors que 1 scellé(s) existent" in out
    print(out)


async def test_a_bad_clock_value_is_ignored_and_the_service_still_starts(provisioned, settings):
    app = intake_app(settings)
    async with AsyncTestClient(app=app) as client:
        clock = await connect_as(provisioned.url, provisioned.credentials["clock"])
        try:
            kv = await clock.jetstream().key_value(f"aap_clock_{CALL.replace('-', '_')}")
            revision = await kv.put("now", b"not-a-date")
        finally:
            await clock.close()
        runtime = app.state.runtime
        for _ in range(200):
            if runtime.clock.revision >= revision:
                break
            await asyncio.sleep(0.01)
        assert runtime.clock.revision >= revision and runtime.clock.simulated is None
        assert (await client.get("/health/ready")).status_code == 200
    async with AsyncTestClient(app=intake_app(settings)) as client:  # a restart reads the bad value first
        assert (await client.get("/health/ready")).status_code == 200


async def test_no_subject_from_a_bad_id_and_no_event_over_the_bus_limit(store):
    from aap_platform.store import EventTooLarge, InvalidId

    for bad in (">", "*", "a.b", "", "x" * 101, "a b"):
        with pytest.raises(InvalidId):
            await store.load("dossier", bad)
    loaded = await store.load("dossier", "big")
    store.max_payload = 4096
    with pytest.raises(EventTooLarge, match="over the bus's limit"):
        await store.append(loaded.next(DossierWithdrawn("big", "r" * 5000), actor="intake", at=AT), 0)
    assert await store.last_sequence() == 0


async def test_on_the_real_clock_nothing_watches_the_clock_bucket(provisioned, settings):
    app = intake_app(msgspec.structs.replace(settings, clock="real"))
    async with AsyncTestClient(app=app) as client:
        clock = await connect_as(provisioned.url, provisioned.credentials["clock"])
        try:
            kv = await clock.jetstream().key_value(f"aap_clock_{CALL.replace('-', '_')}")
            await kv.put("now", b"2021-04-06T09:30:00+02:00")
        finally:
            await clock.close()
        await asyncio.sleep(0.3)
        runtime = app.state.runtime
        assert runtime.clock.simulated is None and runtime.clock.revision == 0
        assert (await client.get("/health/ready")).json()["clock_revision"] == 0
