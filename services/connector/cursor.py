"""Where each démarche's sync stands, in a NATS key-value bucket: the last `endCursor` of its
dossiers (never overwritten by null: DN gives null on an empty page) and the instant of the last
deletion seen."""

from __future__ import annotations

import re
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError


def bucket_name(call_id: str) -> str:
    return "aap_connector_" + re.sub(r"[^A-Za-z0-9]", "_", call_id)


class Cursors:
    def __init__(self, js: JetStreamContext, call_id: str, replicas: int = 1) -> None:
        self.js, self.bucket, self.replicas = js, bucket_name(call_id), replicas
        self._kv = None

    async def _store(self):
        if self._kv is None:
            try:
                self._kv = await self.js.key_value(self.bucket)
            except (BucketNotFoundError, NotFoundError):
                self._kv = await self.js.create_key_value(bucket=self.bucket, history=5, replicas=self.replicas)
        return self._kv

    async def _get(self, key: str) -> str | None:
        try:
            entry = await (await self._store()).get(key)
        except KeyNotFoundError:
            return None
        return entry.value.decode() if entry.value else None

    async def cursor(self, demarche: int) -> str | None:
        return await self._get(f"cursor.{int(demarche)}")

    async def save_cursor(self, demarche: int, cursor: str | None) -> None:
        if cursor:  # an empty page's null keeps the last cursor
            await (await self._store()).put(f"cursor.{int(demarche)}", cursor.encode())

    async def deleted_since(self, demarche: int) -> datetime | None:
        value = await self._get(f"deleted.{int(demarche)}")
        return datetime.fromisoformat(value) if value else None

    async def save_deleted_since(self, demarche: int, instant: datetime) -> None:
        await (await self._store()).put(f"deleted.{int(demarche)}", instant.isoformat().encode())
