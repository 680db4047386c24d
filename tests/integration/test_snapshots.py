"""View snapshots against a real nats-server, with the intake service: a graceful stop saves the
view; a restart resumes from it with the same view as a full replay; a snapshot that is spoiled,
signed by another key, or does not match the log (link at its position, chain digest) is refused
— logged and counted — and the view rebuilt from the first event; no snapshot: a full replay."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from aap_platform.natsauth import TEST_ROOT
from aap_platform.signing import Signer, events_key_dir, private_key_file
from aap_platform.snapshot import Signed, Snapshot, bucket_name, dumps, loads, opened, seal
from services.intake.app import create_app
from tests.conftest import CALL, connect
from tests.integration.test_eligibility_service import auth, submit
from tests.unit.test_eligibility_rules import reference

VIEW = "intake-dossiers"


class Lines(logging.Handler):
    """The snapshot module's log lines (Litestar's logging set-up replaces the root's handlers)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def clear(self) -> None:
        self.lines.clear()


@pytest.fixture
def caplog():
    logger = logging.getLogger("aap_platform.snapshot")
    handler, level = Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": "intake", **labels}) or 0.0


async def replayed(client, token) -> None:
    """The live view equals its replay from the first event (`/audit/views`)."""
    rows = (await client.get("/audit/views", headers=auth(token, "auditor"))).json()
    assert rows and all(r["live_digest"] == r["rebuilt_digest"] for r in rows), rows


async def objects(nats_server):
    conn = await connect(nats_server, TEST_ROOT)
    return conn, await conn.jetstream().object_store(bucket_name("intake", CALL))


async def put_snapshot(nats_server, data: bytes) -> None:
    conn, obs = await objects(nats_server)
    try:
        await obs.put(VIEW, data)
    finally:
        await conn.close()


async def get_snapshot(nats_server) -> bytes | None:
    conn, obs = await objects(nats_server)
    try:
        return (await obs.get(VIEW)).data
    except Exception:  # noqa: BLE001 — none yet
        return None
    finally:
        await conn.close()


async def history(store, first: int, count: int) -> None:
    for i in range(first, first + count):
        await submit(store, f"d-{i}", reference())


def ghost(state_bytes: bytes) -> bytes:
    """The view of a snapshot with a dossier the log never had."""
    state = loads(state_bytes)
    state.index.entries["d-ghost"] = next(iter(state.index.entries.values()))
    return dumps(state)


async def test_no_snapshot_is_a_full_replay_then_a_stop_saves_one_and_a_restart_resumes_from_it(
    store, settings, token, nats_server, caplog
):
    await history(store, 0, 4)
    loaded = counted("aap_snapshots_loaded_total")
    async with AsyncTestClient(create_app(settings)) as client:
        assert "no snapshot of view intake-dossiers: replay from the first event" in caplog.text
        await replayed(client, token)
    assert counted("aap_snapshots_loaded_total") == loaded
    data = await get_snapshot(nats_server)
    assert data is not None
    keyring = client.app.state.runtime.guard.keyring
    snap = opened(data, "intake", keyring)
    assert snap.position == await store.last_sequence() and snap.view == VIEW

    await history(store, 4, 3)
    caplog.clear()
    async with AsyncTestClient(create_app(settings)) as client:
        view = client.app.state.runtime.views[0]
        assert f"view intake-dossiers starts from its snapshot at #{snap.position}" in caplog.text
        assert counted("aap_snapshots_loaded_total") == loaded + 1
        assert view.position == await store.last_sequence()
        assert all(view.state.get(f"d-{i}") is not None for i in range(7))
        await replayed(client, token)
        for _ in range(200):  # the background check of the chain under the snapshot
            if view.digest is not None:
                break
            await asyncio.sleep(0.05)
        assert view.digest is not None and view.digest.seq == view.position
    # the stop saved the view again, with its chain digest continued past the loaded snapshot
    again = opened(await get_snapshot(nats_server) or b"", "intake", keyring)
    assert again.position == await store.last_sequence() > snap.position


async def test_a_spoiled_snapshot_is_refused_and_the_view_rebuilt(store, settings, token, nats_server, caplog):
    await history(store, 0, 3)
    async with AsyncTestClient(create_app(settings)):
        pass
    data = await get_snapshot(nats_server)
    assert data is not None
    signed = msgspec.msgpack.decode(data, type=Signed)
    snap = msgspec.msgpack.decode(signed.body, type=Snapshot)
    spoiled = msgspec.structs.replace(snap, state=ghost(snap.state))
    await put_snapshot(
        nats_server, msgspec.msgpack.encode(Signed(msgspec.msgpack.encode(spoiled), signed.kid, signed.sig))
    )

    refused = counted("aap_snapshots_refused_total", reason="signature")
    async with AsyncTestClient(create_app(settings)) as client:
        view = client.app.state.runtime.views[0]
        assert "snapshot of view intake-dossiers refused (signature" in caplog.text
        assert "rebuilt from the first event" in caplog.text
        assert counted("aap_snapshots_refused_total", reason="signature") == refused + 1
        assert view.state.get("d-ghost") is None and view.state.get("d-2") is not None
        await replayed(client, token)


async def test_a_signed_snapshot_not_matching_the_log_is_refused(store, settings, token, nats_server, data_dir, caplog):
    """Signed with intake's own key, but its link (at load) or its chain digest (checked in the
    background after ready) differs from the log's: refused, the view rebuilt from scratch."""
    await history(store, 0, 3)
    async with AsyncTestClient(create_app(settings)):
        pass
    snap = opened(await get_snapshot(nats_server) or b"", "intake", _ring(data_dir))
    intake = Signer.from_file("intake", private_key_file(events_key_dir(data_dir), "intake"))

    wrong_link = msgspec.structs.replace(snap, link="0" * 64, state=ghost(snap.state))
    await put_snapshot(nats_server, seal(wrong_link, intake))
    refused = counted("aap_snapshots_refused_total", reason="link")
    async with AsyncTestClient(create_app(settings)) as client:
        view = client.app.state.runtime.views[0]
        assert counted("aap_snapshots_refused_total", reason="link") == refused + 1
        assert f"the message #{snap.position} has another link" in caplog.text
        assert view.state.get("d-ghost") is None
        await replayed(client, token)

    too_far = msgspec.structs.replace(snap, position=snap.position + 100, state=ghost(snap.state))
    await put_snapshot(nats_server, seal(too_far, intake))
    refused = counted("aap_snapshots_refused_total", reason="position")
    async with AsyncTestClient(create_app(settings)) as client:
        view = client.app.state.runtime.views[0]
        assert counted("aap_snapshots_refused_total", reason="position") == refused + 1
        assert view.state.get("d-ghost") is None and view.position == await store.last_sequence()

    wrong_chain = msgspec.structs.replace(snap, digest="0" * 64, state=ghost(snap.state))
    await put_snapshot(nats_server, seal(wrong_chain, intake))
    refused = counted("aap_snapshots_refused_total", reason="chain")
    async with AsyncTestClient(create_app(settings)) as client:
        view = client.app.state.runtime.views[0]
        for _ in range(200):  # loaded (its link holds), then refused by the background check
            if counted("aap_snapshots_refused_total", reason="chain") > refused and view.ready.is_set():
                break
            await asyncio.sleep(0.05)
        assert counted("aap_snapshots_refused_total", reason="chain") == refused + 1
        assert f"the log's digest at #{snap.position} differs from the recorded one" in caplog.text
        assert view.state.get("d-ghost") is None and view.position == await store.last_sequence()
        await replayed(client, token)


def _ring(data_dir):
    from aap_platform.signing import KEYRING, Keyring

    return Keyring.from_file(events_key_dir(data_dir) / KEYRING)
