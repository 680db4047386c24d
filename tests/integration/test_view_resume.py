"""A view resumes right after its connection comes back: the nats-server is stopped and restarted
(same port, same data folder) under a running service; the events appended after the restart
are in the view within seconds (the ordered consumer alone waited for missed heartbeats, 8–20 s),
and the view equals its replay from the first event (nothing applied twice, nothing skipped)."""

from __future__ import annotations

import asyncio
import time

from litestar.testing import AsyncTestClient

from aap_platform.natsauth import TEST_ROOT
from aap_platform.store import EventStore
from services.intake.app import create_app
from tests.conftest import CALL, connect
from tests.integration.test_eligibility_service import auth, submit
from tests.unit.test_eligibility_rules import reference


async def wait_position(client, at_least: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            state = (await client.get("/health/ready")).json()
            if state.get("position", 0) >= at_least:
                return time.monotonic() - started
        except Exception:  # noqa: BLE001 — an answer during the outage: keep asking
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"the view did not reach #{at_least} within {timeout} s: {state}")


async def restart_and_submit(nats_server, store: EventStore, signers, prefix: str) -> tuple[int, float]:
    """Stop the nats-server, start it again (same port, same data), submit three dossiers through a
    new connection; the stream's last sequence and the instant they were all appended."""
    await nats_server.astop()
    await asyncio.sleep(0.5)
    await asyncio.to_thread(nats_server.start)
    conn = await connect(nats_server, TEST_ROOT)
    try:
        after = EventStore(conn.jetstream(), CALL, signer=signers)
        after.guard = store.guard
        for i in range(3):
            await submit(after, f"{prefix}-{i}", reference())
        return await after.last_sequence(), time.monotonic()
    finally:
        await conn.close()


async def test_a_view_resumes_within_seconds_after_a_broker_restart(store, settings, token, nats_server, signers):
    for i in range(3):
        await submit(store, f"d-before-{i}", reference())
    async with AsyncTestClient(create_app(settings)) as client:
        await wait_position(client, await store.last_sequence(), 20)
        resumes = [v.resumes for v in client.app.state.runtime.views]

        last, appended = await restart_and_submit(nats_server, store, signers, "d-after")
        await wait_position(client, last, 15)
        took = time.monotonic() - appended
        print(f"\nview caught up {took:.2f} s after the events appended after the restart")
        assert took < 5, f"the view took {took:.1f} s to resume"
        assert [v.resumes for v in client.app.state.runtime.views] > resumes

        view = client.app.state.runtime.views[0]
        assert all(view.state.get(f"d-{when}-{i}") is not None for when in ("before", "after") for i in range(3))

        rows = (await client.get("/audit/views", headers=auth(token, "auditor"))).json()
        assert rows and all(r["live_digest"] == r["rebuilt_digest"] for r in rows), rows


async def test_the_sealer_resumes_within_seconds_after_a_broker_restart(store, settings, nats_server, signers):
    """The committee's sealer follows every message's header to chain the log's digest: after a
    restart it picks up at once too, from the next sequence (its digest stays contiguous)."""
    from services.committee.app import create_app as committee_app

    for i in range(3):
        await submit(store, f"d-seal-before-{i}", reference())
    async with AsyncTestClient(committee_app(settings)) as client:
        sealer = client.app.state.runtime.sealer
        assert sealer is not None
        before = await store.last_sequence()
        started = time.monotonic()
        while sealer.digest.seq < before and time.monotonic() - started < 20:
            await asyncio.sleep(0.05)
        assert sealer.digest.seq == before

        last, appended = await restart_and_submit(nats_server, store, signers, "d-seal-after")
        while sealer.digest.seq < last and time.monotonic() - appended < 15:
            await asyncio.sleep(0.05)
        took = time.monotonic() - appended
        print(f"\nsealer caught up {took:.2f} s after the events appended after the restart")
        assert sealer.digest.seq == last and took < 5, f"the sealer took {took:.1f} s to resume"
