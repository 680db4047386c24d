"""What the administration identity sets up for a call, before any service starts: the call's
stream (append-only: deletes and purges denied, no limit), its parked stream, the clock bucket
and the documents' object store. Services only check them: they may not create, change or
delete any of them (`aap_platform.natsauth`)."""

from __future__ import annotations

import re

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError

from aap_platform.clock import bucket_name as clock_bucket_name
from aap_platform.reactor import ensure_parked_stream
from aap_platform.store import EventStore


def documents_bucket(call_id: str) -> str:
    return "aap_documents_" + re.sub(r"[^A-Za-z0-9]", "_", call_id)


async def provision(js: JetStreamContext, call_id: str, replicas: int = 1) -> EventStore:
    store = EventStore(js, call_id, replicas)
    await store.ensure_stream()
    await ensure_parked_stream(store)
    try:
        await js.key_value(clock_bucket_name(call_id))
    except (BucketNotFoundError, NotFoundError):
        await js.create_key_value(bucket=clock_bucket_name(call_id), history=1, replicas=replicas)
    try:
        await js.object_store(documents_bucket(call_id))
    except (BucketNotFoundError, NotFoundError):
        await js.create_object_store(documents_bucket(call_id), replicas=replicas)
    return store
