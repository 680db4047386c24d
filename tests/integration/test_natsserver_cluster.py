"""The embedded nats-server as a three-node JetStream cluster on loopback (what `make chaos` and
`System(nats_nodes=3)` run): the nodes route to each other, a stream gets three replicas and a
leader, and losing that leader loses no message; a killed node starts again on its port."""

from __future__ import annotations

import asyncio
import time

from nats.js.api import StreamConfig

from aap_platform.natsauth import TEST_ROOT, auth_dir_of, connect_as
from aap_platform.natsserver import EmbeddedNats, cluster_nodes


async def until_ok(action, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await action()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def test_a_three_node_cluster_keeps_an_r3_stream_through_its_leader_loss(tmp_path):
    auth = auth_dir_of(tmp_path / "data")
    nodes = [
        EmbeddedNats(tmp_path / f"nats-{i}", auth_dir=auth, test_root=True, cluster=node).start()
        for i, node in enumerate(cluster_nodes(3))
    ]
    try:
        url = ",".join(n.url for n in nodes)
        nc = await connect_as(url, nodes[0].credentials[TEST_ROOT], max_reconnect_attempts=-1)
        js = nc.jetstream()
        await until_ok(lambda: js.add_stream(StreamConfig(name="R3", subjects=["r3.>"], num_replicas=3)))
        for i in range(20):
            await js.publish(f"r3.{i}", b"x")
        info = await js.stream_info("R3")
        assert info.config.num_replicas == 3 and info.cluster is not None
        leader = info.cluster.leader
        assert {n.cluster.server_name for n in nodes if n.cluster} >= {leader}
        victim = next(n for n in nodes if n.cluster and n.cluster.server_name == leader)
        port = victim.port
        victim.kill()
        await until_ok(lambda: js.publish("r3.after", b"y"))
        info = await until_ok(lambda: js.stream_info("R3"))
        assert info.state.messages == 21
        assert info.cluster.leader != leader
        victim.start()
        assert victim.port == port and victim.proc is not None and victim.proc.poll() is None
        await nc.close()
    finally:
        for n in nodes:
            n.stop()
