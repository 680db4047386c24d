"""A JetStream object-store bucket: the documents a service keeps beside its events (an
applicant's PDF in intake, the official documents in the notifier). The events record each
object's name and hash; the bucket only holds the bytes. The administrator creates the buckets
(`aap_platform.provision`); a service only writes into its own, and never replaces an object
(a replacement would purge, which it may not)."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError


def bucket_name(prefix: str, call_id: str) -> str:
    return f"{prefix}_" + re.sub(r"[^A-Za-z0-9]", "_", call_id)


class ObjectBucket:
    def __init__(self, js: JetStreamContext, bucket: str, replicas: int = 1) -> None:
        self.js = js
        self.bucket = bucket
        self.replicas = replicas
        self._obs: Any = None

    async def _store(self) -> Any:
        if self._obs is None:
            # a missing bucket raises (BucketNotFoundError, a NATS error: the edge answers 503)
            self._obs = await self.js.object_store(self.bucket)
        return self._obs

    async def put(self, name: str, body: bytes) -> None:
        """Store `body` as `name`, unless an object of that name holds these very bytes already."""
        store = await self._store()
        try:
            info = await store.get_info(name)
            if info.digest == "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode():
                return
        except (NotFoundError, ObjectNotFoundError):
            pass
        await store.put(name, body)

    async def get(self, name: str) -> bytes:
        data: bytes = (await (await self._store()).get(name)).data
        return data
