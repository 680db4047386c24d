"""A service's view snapshots are written by that service alone: it saves and replaces its own
(the replacement purges the old chunks), no other identity writes or purges them."""

from __future__ import annotations

from aap_platform.snapshot import bucket_name
from tests.conftest import CALL, connect
from tests.security.test_bus import refused

BUCKET = bucket_name("intake", CALL)


async def test_only_intake_writes_and_replaces_its_snapshots(provisioned):
    intake = await connect(provisioned, "intake")
    try:
        obs = await intake.jetstream().object_store(BUCKET)
        await obs.put("intake-dossiers", b"first")
        await obs.put("intake-dossiers", b"second")  # a replacement: the first one's chunks purged
        assert (await obs.get("intake-dossiers")).data == b"second"
    finally:
        await intake.close()
    for identity in ("eligibility", "committee", "auditor", "clock"):
        nc = await connect(provisioned, identity)
        try:
            js = nc.jetstream()
            obs = await js.object_store(BUCKET)  # reading is allowed
            assert (await obs.get("intake-dossiers")).data == b"second"
            assert await refused(obs.put("intake-dossiers", b"forged")), identity
            assert await refused(js.purge_stream(f"OBJ_{BUCKET}")), identity
        finally:
            await nc.close()
