"""The bus is closed: every attack of issue 12 on NATS itself, tried against a real nats-server
secured as `aap up` secures it, each with the identity an intruder would have stolen."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import nats
import pytest
from nats.js import api

from aap_contract.events import ProjectSelected
from aap_platform.clock import bucket_name, set_clock
from aap_platform.natsauth import SERVICES, connect_as
from aap_platform.store import EventStore, stream_name
from tests.conftest import CALL, connect

STREAM = stream_name(CALL)
AT = datetime(2021, 6, 1, tzinfo=UTC)


async def refused(coro) -> bool:
    """A request the server drops for want of permission never gets an answer."""
    try:
        await asyncio.wait_for(coro, 0.3)
    except (nats.errors.TimeoutError, TimeoutError, nats.errors.NoRespondersError):
        return True
    except nats.js.errors.APIError:
        return True
    return False


async def test_no_anonymous_access_and_no_wrong_password(provisioned):
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats.connect(provisioned.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats.connect(
            provisioned.url,
            user="intake",
            password="guessed",
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=2,
        )


@pytest.mark.parametrize("identity", [*SERVICES, "auditor", "clock"])
async def test_no_one_but_the_administrator_changes_or_deletes_streams_consumers_buckets(provisioned, identity, store):
    nc = await connect(provisioned, identity)
    js = nc.jetstream()
    try:
        info = await js.stream_info(STREAM)  # reading is allowed
        assert info.config.deny_delete and info.config.deny_purge
        shrunk = dataclasses.replace(info.config, max_msgs=250)
        assert await refused(js.update_stream(shrunk))
        assert await refused(js.delete_stream(STREAM))
        assert await refused(js.purge_stream(STREAM))
        assert await refused(js.delete_key_value(bucket_name(CALL)))
        assert await refused(js.add_stream(name="INTRUDER", subjects=["intruder.>"]))
        other = "budget-reactor" if identity != "budget" else "eligibility-reactor"  # not its own
        assert await refused(js.add_consumer(STREAM, api.ConsumerConfig(durable_name=other, deliver_subject="x.y")))
        assert await refused(js.delete_consumer(STREAM, other))
    finally:
        await nc.close()
    assert (await store.js.stream_info(STREAM)).config.max_msgs == -1


@pytest.mark.parametrize("identity", ["intake", "eligibility", "budget", "notifier", "auditor", "clock", "admin"])
async def test_only_the_committee_publishes_on_session_subjects(provisioned, identity, store):
    nc = await connect(provisioned, identity)
    try:
        loaded = await store.load("session", "1")
        forged = loaded.next(ProjectSelected(session=1, dossier_id="D1", granted_cents=50_000_000), actor="x", at=AT)
        assert await refused(EventStore(nc.jetstream(), CALL).append(forged, None))
    finally:
        await nc.close()
    assert await store.last_sequence() == 0


async def test_the_clock_bucket_is_written_by_the_clock_identity_only(provisioned):
    for identity in (*SERVICES, "auditor", "admin"):
        nc = await connect(provisioned, identity)
        try:
            assert await refused(set_clock(nc.jetstream(), CALL, AT)), identity
        finally:
            await nc.close()
    clock = await connect(provisioned, "clock")
    try:
        assert await set_clock(clock.jetstream(), CALL, AT) >= 1
    finally:
        await clock.close()


async def test_no_one_reads_another_identitys_replies(provisioned):
    seen: list = []
    errors: list = []

    async def on_error(exc):
        errors.append(exc)

    intruder = await connect_as(provisioned.url, provisioned.credentials["intake"], error_cb=on_error)

    async def on_msg(msg):
        seen.append(msg)

    try:
        await intruder.subscribe("_INBOX_budget.>", cb=on_msg)
        await intruder.subscribe("aap.>", cb=on_msg)
        await intruder.flush()
        budget = await connect(provisioned, "budget")
        try:
            await budget.jetstream().stream_info(STREAM)
        finally:
            await budget.close()
        await asyncio.sleep(0.2)
    finally:
        await intruder.close()
    assert seen == []
    assert any("permissions violation" in str(e).lower() for e in errors)


async def test_credentials_and_server_configuration_are_private_files(provisioned, data_dir):
    folder = data_dir / "keys" / "nats"
    files = list(folder.glob("*.json")) + [folder / "nats-server.conf"]
    assert len(files) >= 9
    for path in files:
        assert path.stat().st_mode & 0o077 == 0, path
    for path in (data_dir / "keys" / "events").glob("*.ed25519"):
        assert path.stat().st_mode & 0o077 == 0, path
