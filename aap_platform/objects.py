"""A JetStream object-store bucket, created on first use: the documents a service keeps beside
its events (an applicant's PDF in intake, the official documents in the notifier). The events
record each object's name and hash; the bucket only holds the bytes."""

from __future__ import annotations

import re
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError


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
            try:
                self._obs = await self.js.object_store(self.bucket)
            except (BucketNotFoundError, NotFoundError):
                self._obs = await self.js.create_object_store(self.bucket, replicas=self.replicas)
        return self._obs

    async def put(self, name: str, body: bytes) -> None:
        await (await self._store()).put(name, body)

    async def get(self, name: str) -> bytes:
        data: bytes = (await (await self._store()).get(name)).data
        return data
