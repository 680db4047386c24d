"""What the administration identity sets up for a call, before any service starts: the call's
stream (append-only: deletes and purges denied, no limit), its parked stream, the clock,
personal-data key, connector cursor and lease buckets, and the object stores (applicants' and
official documents). Services only check them: they may not create, change or delete any of
them (`aap_platform.natsauth`).

Every one of them has the configured number of replicas (AAP_NATS_REPLICAS): `provision` creates
what is missing with it and scales up what has fewer (a key-value bucket is the stream
`KV_<bucket>`, an object store `OBJ_<bucket>`); a service that finds fewer refuses to start
(`replica_problems`), since only the administrator may change a stream."""

from __future__ import annotations

import logging
from collections.abc import Callable

from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NotFoundError

from aap_platform.natsauth import READ_ONLY_SERVICES, SERVICES
from aap_platform.objects import bucket_name
from aap_platform.reactor import ensure_parked_stream
from aap_platform.snapshot import bucket_name as snapshot_bucket
from aap_platform.store import EventStore, stream_name

log = logging.getLogger(__name__)
# Key-value buckets of a call (prefix: history kept per key); the call id completes the name.
KV_BUCKETS = {"aap_clock": 1, "aap_privacy": 1, "aap_connector": 5, "aap_leases": 1}
OBJECT_STORES = ("aap_documents", "aap_official")


def object_stores(call_id: str) -> list[str]:
    """The call's object stores: documents, official documents, each service's view snapshots."""
    return [
        *(bucket_name(prefix, call_id) for prefix in OBJECT_STORES),
        *(snapshot_bucket(service, call_id) for service in (*SERVICES, *READ_ONLY_SERVICES)),
    ]


def call_streams(call_id: str) -> list[str]:
    """The JetStream streams behind everything a call keeps on the bus."""
    stream = stream_name(call_id)
    return [
        stream,
        stream + "_PARKED",
        *(f"KV_{bucket_name(prefix, call_id)}" for prefix in KV_BUCKETS),
        *(f"OBJ_{name}" for name in object_stores(call_id)),
    ]


async def provision(
    js: JetStreamContext, call_id: str, replicas: int = 1, on_change: Callable[[str], None] | None = None
) -> EventStore:
    store = EventStore(js, call_id, replicas)
    await store.ensure_stream()
    await ensure_parked_stream(store)
    for prefix, history in KV_BUCKETS.items():
        name = bucket_name(prefix, call_id)
        try:
            await js.key_value(name)
        except (BucketNotFoundError, NotFoundError):
            await js.create_key_value(bucket=name, history=history, replicas=replicas)
    for name in object_stores(call_id):
        try:
            await js.object_store(name)
        except (BucketNotFoundError, NotFoundError):
            await js.create_object_store(name, replicas=replicas)
    for change in await reconcile_replicas(js, call_id, replicas):
        log.warning("%s", change)
        if on_change is not None:
            on_change(change)
    return store


async def _fewer_replicas(js: JetStreamContext, call_id: str, replicas: int) -> list[tuple[api.StreamInfo, int]]:
    """The call's streams (and buckets) that exist with fewer replicas than `replicas`, with how
    many they have (a missing one is reported by whoever needs it)."""
    short = []
    for name in call_streams(call_id):
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            continue
        have = info.config.num_replicas or 1
        if have < replicas:
            short.append((info, have))
    return short


async def reconcile_replicas(js: JetStreamContext, call_id: str, replicas: int) -> list[str]:
    """Scale up every stream of the call that has fewer replicas than `replicas` (never down:
    an operator's larger choice is kept). Returns what was changed."""
    changes = []
    for info, have in await _fewer_replicas(js, call_id, replicas):
        await js.update_stream(info.config.evolve(num_replicas=replicas))
        changes.append(f"stream {info.config.name}: {have} -> {replicas} replicas")
    return changes


async def replica_problems(js: JetStreamContext, call_id: str, replicas: int) -> list[str]:
    """The call's streams and buckets with fewer replicas than configured."""
    return [
        f"stream {info.config.name} has {have} replica(s), AAP_NATS_REPLICAS requires {replicas}"
        for info, have in await _fewer_replicas(js, call_id, replicas)
    ]
