"""Fixtures shared by every tier: a real nats-server on a free port in a temporary folder."""
from __future__ import annotations

import nats
import pytest

from shared.natsserver import EmbeddedNats
from shared.store import EventStore

CALL = "hdf-itn7-axe3-2021"


@pytest.fixture
def nats_server(tmp_path):
    server = EmbeddedNats(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture
async def nc(nats_server):
    conn = await nats.connect(nats_server.url)
    yield conn
    await conn.close()


@pytest.fixture
async def store(nc):
    s = EventStore(nc.jetstream(), CALL)
    await s.ensure_stream()
    return s
