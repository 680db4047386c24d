"""Recovery in seconds (issue 13), against a real nats-server: a reactor that dies with a message
in flight loses it only for the consumer's short ack_wait; a long handler is not redelivered
meanwhile; readiness answers within a second and says why it is not ready."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import msgspec
import pytest
from nats.js import api

from aap_contract.envelope import Event
from aap_contract.events import DossierWithdrawn
from aap_platform.reactor import (
    DEFAULT_ACK_WAIT,
    Subscription,
    attach_reactor,
    durable_name,
    ensure_parked_stream,
    update_consumer,
)
from aap_platform.store import EventStore
from tests.conftest import broker as make_broker
from tests.conftest import connect
from tests.integration.test_notifier_delivery import history, smtp  # noqa: F401 — fixtures

NOW = datetime(2021, 4, 2, 9, 0, tzinfo=UTC)


def withdrawn(loaded, reason: str) -> Event:
    return loaded.next(DossierWithdrawn(dossier_id=loaded.aggregate_id, reason=reason), actor="test", at=NOW)


def withdrawals(handler) -> Subscription:
    return Subscription(handler, aggregates=("dossier",), types=("DossierWithdrawn",))


async def until(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await condition():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


async def test_a_consumer_created_with_a_long_ack_wait_is_brought_to_the_configured_one(nats_server, store):
    """A durable made with ack_wait=60 (before issue 13) is updated by the service's own start,
    under the service's own NATS identity (it may create and update that consumer only)."""
    await ensure_parked_stream(store)
    await store.js.add_consumer(
        store.stream,
        api.ConsumerConfig(
            durable_name=durable_name("notifier"),
            deliver_subject="_INBOX_notifier.before-issue-13",
            deliver_group=durable_name("notifier"),
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=60,
            max_ack_pending=1,
            filter_subject=f"aap.{store.call_id}.dossier.>",
        ),
    )

    async def handler(event: Event, seq: int) -> None: ...

    broker = make_broker(nats_server, "notifier")
    notifier = await connect(nats_server, "notifier")
    as_notifier = EventStore(notifier.jetstream(), store.call_id)
    assert await update_consumer(as_notifier, "notifier", 3.0) is True
    assert await update_consumer(as_notifier, "notifier", 3.0) is False
    await notifier.close()
    attach_reactor(broker, store, "notifier", withdrawals(handler), ack_wait=3.0)
    await broker.start()
    try:
        info = await store.js.consumer_info(store.stream, durable_name("notifier"))
    finally:
        await broker.stop()
    assert info.config.ack_wait == 3.0


async def test_a_message_in_flight_in_a_dead_reactor_is_redelivered_within_seconds(nats_server, store):
    """The first instance takes the event and dies with it (its connection closed while the handler
    blocks); the second instance, same queue group, gets it after the ack wait, not 60 s."""
    await ensure_parked_stream(store)
    taken = asyncio.Event()
    handled: list[tuple[str, int]] = []

    async def stuck(event: Event, seq: int) -> None:
        taken.set()
        await asyncio.sleep(3600)

    async def works(event: Event, seq: int) -> None:
        handled.append((event.event_id, seq))

    first, second = make_broker(nats_server), make_broker(nats_server)
    attach_reactor(first, store, "flight", withdrawals(stuck))  # the default ack wait
    await first.start()
    loaded = await store.load("dossier", "d-flight")
    event = withdrawn(loaded, "in flight")
    await store.append(event, 0)
    await asyncio.wait_for(taken.wait(), 10)
    attach_reactor(second, store, "flight", withdrawals(works))
    await second.start()
    try:
        await first.connection.close()  # the first instance is gone, its message unacknowledged
        died = time.monotonic()
        waited = await until(lambda: asyncio.sleep(0, bool(handled)), 10, "redelivered to the other instance")
        print(f"in-flight message redelivered {waited:.1f} s after its reactor died (ack_wait {DEFAULT_ACK_WAIT:g} s)")
        assert handled == [(event.event_id, 1)]
        assert time.monotonic() - died < 10
    finally:
        await second.stop()
        with contextlib.suppress(Exception):  # its connection is closed already
            await asyncio.wait_for(first.stop(), 5)


async def test_two_instances_starting_at_once_create_one_consumer_and_share_the_events(nats_server, store):
    """A fresh deployment starts both instances of a service together: each creates the durable
    consumer (it does not exist yet); both must start, and each event be handled once between them."""
    await ensure_parked_stream(store)
    handled: list[tuple[str, str]] = []

    def by(instance: str):
        async def handle(event: Event, seq: int) -> None:
            handled.append((instance, event.event_id))

        return handle

    first, second = make_broker(nats_server), make_broker(nats_server)
    attach_reactor(first, store, "twins", withdrawals(by("first")))
    attach_reactor(second, store, "twins", withdrawals(by("second")))
    try:
        await asyncio.gather(first.start(), second.start())  # raised "consumer name already in use"
        ids = []
        for i in range(20):
            loaded = await store.load("dossier", f"d-twins-{i}")
            event = withdrawn(loaded, "twins")
            await store.append(event, 0)
            ids.append(event.event_id)
        await until(lambda: asyncio.sleep(0, len(handled) >= 20), 10, "every event handled")
        await asyncio.sleep(0.3)  # nothing more arrives
        assert sorted(e for _, e in handled) == sorted(ids)  # each once
        counts = {who: sum(1 for w, _ in handled if w == who) for who in ("first", "second")}
        print("handled by", counts)
        # both are live members of the queue (with a per-instance delivery inbox, the second creation
        # either failed or moved the consumer to its own inbox, leaving the first deaf); 20 events
        # all to one live member of two would be a 1 in 500 000 chance
        assert all(counts.values()), counts
    finally:
        await first.stop()
        await second.stop()


async def test_a_long_handler_says_it_is_working_and_is_not_redelivered(nats_server, store):
    """A handler that takes three times the ack wait is not given to the other instance meanwhile."""
    await ensure_parked_stream(store)
    calls: list[str] = []

    async def slow(event: Event, seq: int) -> None:
        calls.append("slow")
        await asyncio.sleep(3.0)

    async def other(event: Event, seq: int) -> None:
        calls.append("other")

    one, two = make_broker(nats_server), make_broker(nats_server)
    attach_reactor(one, store, "long", withdrawals(slow), ack_wait=1.0)
    await one.start()
    loaded = await store.load("dossier", "d-long")
    await store.append(withdrawn(loaded, "long"), 0)
    await until(lambda: asyncio.sleep(0, bool(calls)), 10, "taken")
    attach_reactor(two, store, "long", withdrawals(other), ack_wait=1.0)
    await two.start()
    try:
        await until(
            lambda: _lag_zero(store, "long"),
            10,
            "acknowledged",
        )
        await asyncio.sleep(1.5)
    finally:
        await one.stop()
        await two.stop()
    assert calls == ["slow"]


async def _lag_zero(store: EventStore, service: str) -> bool:
    info = await store.js.consumer_info(store.stream, durable_name(service))
    return info.num_pending + info.num_ack_pending == 0


# --- readiness: within a second, and false while the bus is unreachable ------------------------


async def test_readiness_is_503_within_a_second_when_the_server_is_stopped_and_back_after(provisioned, settings):
    from litestar.testing import AsyncTestClient

    from services.eligibility.app import create_app as eligibility_app

    settings = msgspec.structs.replace(settings, check_seconds=0.2)
    async with AsyncTestClient(app=eligibility_app(settings)) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.json()
        assert ready.json()["bus_connected"] is True and ready.json()["problems"] == []
        await provisioned.astop()
        figures = []
        for _ in range(5):
            started = time.monotonic()
            answer = await client.get("/health/ready")
            figures.append(time.monotonic() - started)
            assert answer.status_code == 503
            await asyncio.sleep(0.2)
        print(f"readiness with the server stopped: 503 in {max(figures) * 1000:.0f} ms at most")
        assert max(figures) < 1.0
        assert any("unreachable" in p or "did not answer" in p for p in answer.json()["problems"]), answer.json()
        metrics = (await client.get("/metrics", headers=auditor(settings))).text
        assert 'aap_bus_connected{service="eligibility"} 0.0' in metrics

        provisioned.start()  # same port, same data: the service reconnects and is ready again

        async def ready_again() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        waited = await until(ready_again, 20, "ready again after the server came back")
        print(f"ready again {waited:.1f} s after the server restarted")


async def test_a_view_behind_the_stream_is_not_ready_and_says_by_how_much(provisioned, settings, store):
    from litestar.testing import AsyncTestClient

    from services.eligibility.app import create_app as eligibility_app

    settings = msgspec.structs.replace(settings, ready_max_behind=3)
    app = eligibility_app(settings)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/ready")).status_code == 200
        runtime = app.state.runtime
        for view in runtime.views:  # a view frozen (its subscription lost): it no longer follows
            await view.stop()
        for i in range(5):
            loaded = await store.load("dossier", f"behind{i}")
            await store.append(withdrawn(loaded, "x"), loaded.version)
        answer = await client.get("/health/ready")
        assert answer.status_code == 503
        body = answer.json()
        assert body["behind"] == 5 and any("5 events behind the stream" in p for p in body["problems"]), body


def auditor(settings) -> dict:
    from aap_platform.auth import issue_token

    token = issue_token(settings.data_dir / "keys" / "jwt-private.pem", role="auditor", subject="t")
    return {"Authorization": f"Bearer {token}"}


async def test_readiness_answers_within_a_second_when_the_server_hangs(provisioned, settings):
    """A paused server (SIGSTOP): the connection still looks open, requests get no answer; the
    readiness check bounds each of them and answers 503 within a second."""
    import os
    import signal

    from litestar.testing import AsyncTestClient

    from services.eligibility.app import create_app as eligibility_app

    async with AsyncTestClient(app=eligibility_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        assert provisioned.proc is not None
        os.kill(provisioned.proc.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            answer = await client.get("/health/ready")
            took = time.monotonic() - started
        finally:
            os.kill(provisioned.proc.pid, signal.SIGCONT)
        print(f"readiness with the server paused: {answer.status_code} in {took * 1000:.0f} ms")
        assert answer.status_code == 503 and took < 1.0
        assert any("did not answer within" in p for p in answer.json()["problems"]), answer.json()

        async def ready_again() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await until(ready_again, 20, "ready again once the server resumed")


# --- replicas: every stream and bucket of the call, reconciled by `aap setup` --------------------


async def test_a_cluster_scales_every_stream_and_bucket_up_and_a_service_refuses_fewer(tmp_path, data_dir, capsys):
    from aap.cli import main
    from aap_platform.natsauth import SERVICES, TEST_ROOT, auth_dir_of, connect_as
    from aap_platform.natsserver import EmbeddedNats, cluster_nodes
    from aap_platform.provision import call_streams, provision, replica_problems
    from aap_platform.runtime import Runtime
    from aap_platform.settings import Settings
    from aap_platform.signing import ensure_event_keys, events_key_dir
    from tests.conftest import CALL

    ensure_event_keys(events_key_dir(data_dir), SERVICES)
    nodes = [
        EmbeddedNats(tmp_path / f"nats-{i}", auth_dir=auth_dir_of(data_dir), test_root=True, cluster=node).start()
        for i, node in enumerate(cluster_nodes(3))
    ]
    url = ",".join(n.url for n in nodes)
    try:
        admin = await connect_as(url, nodes[0].credentials["admin"])
        try:
            js = admin.jetstream()
            for _ in range(100):  # the cluster elects its JetStream meta leader first
                try:
                    await provision(js, CALL, 1)  # as before issue 13: everything with one replica
                    break
                except Exception:  # noqa: BLE001
                    await asyncio.sleep(0.2)
            few = await replica_problems(js, CALL, 3)
            assert len(few) == len(call_streams(CALL)) == 8 + 7, few  # and the 7 services' snapshot buckets
        finally:
            await admin.close()

        settings = Settings(nats_url=url, call=CALL, data_dir=data_dir, nats_replicas=3, clock="real")
        runtime = Runtime("eligibility", settings)
        try:
            with pytest.raises(RuntimeError, match="AAP_NATS_REPLICAS=3") as refused:
                await runtime.start()
        finally:
            await runtime.broker.stop()
        with capsys.disabled():
            print(f"service refused: {refused.value}")

        code = await asyncio.to_thread(
            main, ["setup", "--streams-only", "--nats-url", url, "--replicas", "3", "--data-dir", str(data_dir)]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        assert out.count("-> 3 replicas") == 8 + 7, out
        with capsys.disabled():
            print(out)

        root = await connect_as(url, nodes[0].credentials[TEST_ROOT])
        try:
            assert await replica_problems(root.jetstream(), CALL, 3) == []

            async def all_current() -> bool:  # the new replicas have caught up with their leader
                for name in call_streams(CALL):
                    info = await root.jetstream().stream_info(name)
                    peers = info.cluster.replicas if info.cluster else None
                    if not peers or len(peers) != 2 or not all(p.current for p in peers):
                        return False
                return True

            await until(all_current, 20, "replicas current")
            leader = (await root.jetstream().stream_info(f"KV_aap_clock_{CALL.replace('-', '_')}")).cluster.leader
        finally:
            await root.close()

        # the clock bucket survives the loss of its leader's node: `aap clock` with the URL list
        lost = next(n for n in nodes if n.cluster is not None and n.cluster.server_name == leader)
        lost.stop()
        listed = ",".join([lost.url, *(n.url for n in nodes if n is not lost)])  # the lost one first
        where = ["--nats-url", listed, "--data-dir", str(data_dir)]

        async def clock_set() -> bool:
            return await asyncio.to_thread(main, ["clock", "set", "2021-05-15T00:00:00+02:00", *where]) == 0

        waited = await until(clock_set, 20, "the clock written after its leader's node was lost")
        with capsys.disabled():
            print(f"clock bucket written {waited:.1f} s after the loss of its leader's node")
        assert '"clock": "2021-05-15T00:00:00+02:00"' in capsys.readouterr().out
        # a majority lost: the bucket cannot take a write (a read may still be served by the
        # replica left, a direct get needs no quorum); one French line, no traceback, exit 3
        next(n for n in nodes if n is not lost).stop()
        code = await asyncio.to_thread(main, ["clock", "set", "2021-05-16T00:00:00+02:00", *where])
        err = capsys.readouterr().err
        assert code == 3 and "compartiment de l'horloge" in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
        with capsys.disabled():
            print(err)
    finally:
        for node in nodes:
            node.stop()


# --- two notifiers: every e-mail exactly once, none lost when the lease's holder dies -----------


def _crash(app) -> None:
    """The instance dies as a killed process would: no more renewals, the lease not handed over,
    its sender stopped where it stands."""
    for lease in app.state.runtime.leases:
        lease.crash()
    app.state.runtime.sender.crash()


async def _sent_once(store, inbox, ids) -> bool:
    from tests.integration.test_notifier_delivery import sent_events

    counts = [len(await sent_events(store, i)) for i in ids]
    return counts == [1] * len(ids) and len(inbox.received) >= len(ids)


async def test_two_notifiers_send_each_mail_once(smtp, settings, store, history):  # noqa: F811
    from litestar.testing import AsyncTestClient

    from services.notifier.app import create_app as notifier_app
    from tests.integration.test_notifier_delivery import IDS

    inbox, start, _ = smtp
    start()
    one = notifier_app(msgspec.structs.replace(settings, instance="notifier-1"))
    two = notifier_app(msgspec.structs.replace(settings, instance="notifier-2"))
    async with AsyncTestClient(one) as a, AsyncTestClient(two) as b:
        await until(lambda: _sent_once(store, inbox, IDS), 30, "every notification sent")
        await asyncio.sleep(1.5)  # a second sender, if any, would send again meanwhile
        holders = [(await c.get("/health/ready")).json().get("lease_holder") for c in (a, b)]
    got = inbox.by_notification()
    assert set(got) == IDS and all(len(v) == 1 for v in got.values()), {k: len(v) for k, v in got.items()}
    assert sorted(holders) == [False, True]


async def test_when_the_sending_notifier_dies_the_other_sends_everything_once(smtp, settings, store, history):  # noqa: F811
    from litestar.testing import AsyncTestClient

    from services.notifier.app import create_app as notifier_app
    from tests.integration.test_notifier_delivery import IDS

    inbox, start, _ = smtp  # the SMTP server is down at first: nothing can be sent
    one = notifier_app(msgspec.structs.replace(settings, instance="notifier-1"))
    two = notifier_app(msgspec.structs.replace(settings, instance="notifier-2"))
    async with AsyncTestClient(one) as a, AsyncTestClient(two) as b:
        states = {app: (await c.get("/health/ready")).json() for app, c in ((one, a), (two, b))}
        holder = next(app for app, state in states.items() if state.get("lease_holder"))
        survivor = two if holder is one else one
        await until(lambda: asyncio.sleep(0, holder.state.sender.attempts), 10, "the holder tried")
        _crash(holder)
        killed = time.monotonic()
        start()
        await until(lambda: _sent_once(store, inbox, IDS), 30, "every notification sent by the survivor")
        took = time.monotonic() - killed
        print(f"the other notifier took over and sent every mail {took:.1f} s after the holder died")
        assert survivor.state.runtime.leases[0].held()
        await asyncio.sleep(1.0)
    got = inbox.by_notification()
    assert set(got) == IDS and all(len(v) == 1 for v in got.values()), {k: len(v) for k, v in got.items()}
    assert took < 15


async def test_a_lease_has_one_holder_and_passes_on_when_it_dies_or_stops(nc, store):
    """Three instances of a service: one holds the lease at any time; a dead holder's lease is
    taken after its ttl, a stopped holder's at once."""
    from aap_platform.lease import Lease

    leases = [Lease(nc.jetstream(), store.call_id, "notifier", f"i{k}", ttl=1.0) for k in range(3)]
    for lease in leases:
        await lease.start()
    try:

        async def one_holder() -> bool:
            return sum(lease.held() for lease in leases) == 1

        await until(one_holder, 5, "one holder")
        for _ in range(10):  # and never two
            await asyncio.sleep(0.1)
            assert sum(lease.held() for lease in leases) <= 1
        holder = next(lease for lease in leases if lease.held())
        holder.crash()
        took = await until(one_holder, 5, "taken over after the holder died")
        print(f"lease taken over {took:.2f} s after its holder died (ttl 1 s)")
        assert not holder.held()
        second = next(lease for lease in leases if lease.held())
        await second.stop()
        took = await until(one_holder, 5, "taken over after the holder stopped")
        print(f"lease taken over {took:.2f} s after its holder stopped")
        assert took < 1.0
        assert sum(lease.held() for lease in leases) == 1
    finally:
        for lease in leases:
            await lease.stop()


async def test_two_committees_seal_a_range_once(store, data_dir):
    """Both instances of the committee follow the log and seal at the same closing: one seal."""
    from aap_platform.seal import Sealer, seal_file

    for i in range(5):
        loaded = await store.load("dossier", f"s{i}")
        await store.append(withdrawn(loaded, "x"), loaded.version)
    sealers = [Sealer(store, "committee", seal_file(data_dir / f"seals-{k}", store.call_id)) for k in range(2)]
    for sealer in sealers:
        await sealer.start()
    try:

        async def followed() -> bool:
            return all(s.digest.seq >= 5 for s in sealers)

        await until(followed, 10, "both followed the log")
        results = await asyncio.gather(*(s.seal("session_closed") for s in sealers))
    finally:
        for sealer in sealers:
            await sealer.stop()
    assert sorted(r is None for r in results) == [False, True], results
    seals = (await store.load("seal", store.call_id)).events
    assert [e.data.last_seq for e in seals] == [5]


async def test_two_connectors_poll_dn_one_at_a_time(nc, store):
    """Only the lease's holder polls Démarche Numérique; when it dies, the other polls."""
    from aap_platform.lease import Lease
    from services.connector.loop import SyncLoop

    passes: list[str] = []

    class Pass:
        def __init__(self, name: str) -> None:
            self.name = name

        async def run_once(self):
            passes.append(self.name)
            from services.connector.sync import Summary

            return Summary()

    loops = []
    for name in ("c1", "c2"):
        loop = SyncLoop(lambda name=name: Pass(name), interval=0.1)
        loop.lease = Lease(nc.jetstream(), store.call_id, "connector", name, ttl=1.0, on_acquired=loop.trigger)
        await loop.lease.start()
        loop.start()
        loops.append(loop)
    try:
        await asyncio.sleep(1.5)
        assert len(set(passes)) == 1 and len(passes) > 3, passes
        first = passes[0]
        dead = next(loop for loop in loops if loop.lease is not None and loop.lease.instance == first)
        assert dead.lease is not None
        dead.lease.crash()
        await dead.stop()
        passes.clear()

        async def other_polls() -> bool:
            return any(p != first for p in passes)

        took = await until(other_polls, 10, "the other connector polls")
        print(f"the other connector polled {took:.1f} s after the first died (ttl 1 s)")
        assert first not in passes
    finally:
        for loop in loops:
            await loop.stop()
            if loop.lease is not None:
                await loop.lease.stop()


async def test_a_view_that_stopped_following_is_not_ready_after_a_few_seconds(provisioned, settings, store):
    """Even one event behind: a view that has not reached, after `ready_max_stale` seconds, a
    sequence the stream already had is frozen, not slow."""
    from litestar.testing import AsyncTestClient

    from services.eligibility.app import create_app as eligibility_app

    settings = msgspec.structs.replace(settings, ready_max_stale=0.5)
    app = eligibility_app(settings)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/ready")).status_code == 200
        for view in app.state.runtime.views:
            await view.stop()
        loaded = await store.load("dossier", "stale")
        await store.append(withdrawn(loaded, "x"), loaded.version)
        assert (await client.get("/health/ready")).status_code == 200  # one event behind: not yet
        await asyncio.sleep(0.7)
        answer = await client.get("/health/ready")
        assert answer.status_code == 503
        assert any("has not reached #1" in p for p in answer.json()["problems"]), answer.json()


async def test_a_console_session_is_valid_on_the_other_instance(settings, keys, tmp_path):
    """Sessions are signed cookies: two console instances (each with its own data folder, as two
    containers) given the same AAP_CONSOLE_SECRET, or none, accept each other's; another secret does not."""
    import re
    import secrets

    from litestar.testing import AsyncTestClient

    from services.console.app import create_app as console_app

    shared = secrets.token_hex(32)

    def console(secret: str, folder: str):
        env = {
            "AAP_CONSOLE_SIGNING_KEY": str(keys[0]),
            "AAP_DATA_DIR": str(tmp_path / folder),
            "AAP_CONSOLE_SECRET": secret,
            **{f"AAP_{s}_URL": "http://127.0.0.1:9" for s in ("BUDGET", "NOTIFIER", "COMMITTEE", "INTAKE")},
        }
        return console_app(settings, env=env)

    async with (
        AsyncTestClient(app=console(shared, "one")) as one,
        AsyncTestClient(app=console(shared, "two")) as two,
        AsyncTestClient(app=console(secrets.token_hex(32), "three")) as three,
    ):
        login = await one.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
        email = "claire.dumont@hauts-de-france.gouv.example"
        signed = await one.post("/login", data={"_csrf_token": token, "email": email}, follow_redirects=False)
        assert signed.status_code in (302, 303) and signed.headers["location"] != "/login"
        for other in (two, three):
            other.cookies.update(one.cookies)
        on_two = await two.get("/", follow_redirects=False)
        assert on_two.status_code == 200, (on_two.status_code, on_two.headers.get("location"))
        on_three = await three.get("/", follow_redirects=False)
        assert (on_three.status_code, on_three.headers.get("location")) == (303, "/login")

    # no secret given: derived from the signing key every instance has (not a key of its own folder)
    async with (
        AsyncTestClient(app=console("", "four")) as four,
        AsyncTestClient(app=console("", "five")) as five,
    ):
        login = await four.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
        signed = await four.post("/login", data={"_csrf_token": token, "email": email}, follow_redirects=False)
        five.cookies.update(four.cookies)
        assert (await five.get("/", follow_redirects=False)).status_code == 200


async def test_the_clock_is_followed_within_seconds_after_a_broker_restart(provisioned, settings):
    """The clock's watch stalls after a restart (about 18 s measured); the per-second read does not."""
    from datetime import UTC, datetime

    from litestar.testing import AsyncTestClient

    from aap_platform.clock import set_clock
    from services.eligibility.app import create_app as eligibility_app

    async with AsyncTestClient(app=eligibility_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        await provisioned.astop()
        await asyncio.sleep(1)
        provisioned.start()

        async def ready() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await until(ready, 30, "ready after the restart")
        clock = await connect(provisioned, "clock")
        try:
            revision = await set_clock(clock.jetstream(), settings.call, datetime(2021, 5, 1, tzinfo=UTC))
        finally:
            await clock.close()

        async def seen() -> bool:
            return (await client.get("/health/ready")).json()["clock_revision"] >= revision

        took = await until(seen, 30, "the clock's new value seen")
        print(f"clock change seen {took:.1f} s after it was set, right after a broker restart")
        assert took < 5
