"""What the administration identity sets up for a call, before any service starts: the call's
stream (append-only: deletes and purges denied, no limit), its parked stream, the clock and
personal-data key and connector cursor buckets, and the object stores (applicants' and official documents).
Services only check them: they may not create, change or delete any of them
(`aap_platform.natsauth`)."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError

from aap_platform.clock import bucket_name as clock_bucket_name
from aap_platform.natsauth import READ_ONLY_SERVICES, SERVICES
from aap_platform.objects import bucket_name
from aap_platform.reactor import ensure_parked_stream
from aap_platform.snapshot import ensure_buckets as ensure_snapshot_buckets
from aap_platform.store import EventStore


async def provision(js: JetStreamContext, call_id: str, replicas: int = 1) -> EventStore:
    store = EventStore(js, call_id, replicas)
    await store.ensure_stream()
    await ensure_parked_stream(store)
    try:
        await js.key_value(clock_bucket_name(call_id))
    except (BucketNotFoundError, NotFoundError):
        await js.create_key_value(bucket=clock_bucket_name(call_id), history=1, replicas=replicas)
    from aap_platform.privacy import bucket_name as privacy_bucket

    for prefix in ("aap_documents", "aap_official"):
        name = bucket_name(prefix, call_id)
        try:
            await js.object_store(name)
        except (BucketNotFoundError, NotFoundError):
            await js.create_object_store(name, replicas=replicas)
    for kv, history in ((privacy_bucket(call_id), 1), (bucket_name("aap_connector", call_id), 5)):
        try:
            await js.key_value(kv)
        except (BucketNotFoundError, NotFoundError):
            await js.create_key_value(bucket=kv, history=history, replicas=replicas)
    await ensure_snapshot_buckets(js, call_id, (*SERVICES, *READ_ONLY_SERVICES), replicas)
    return store
