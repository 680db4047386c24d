"""Fixtures shared by every tier: a real nats-server on a free port in a temporary folder."""

from __future__ import annotations

import nats
import pytest

from aap_platform.natsserver import EmbeddedNats
from aap_platform.store import EventStore

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


@pytest.fixture
def keys(tmp_path):
    """A local signing key pair: (private PEM path, JWKS path)."""
    from aap_platform.auth import ensure_dev_keys

    return ensure_dev_keys(tmp_path / "keys")


@pytest.fixture
def token(keys):
    """token(role, subject="t", sirens=None, member_id=None) -> a signed bearer token."""
    from aap_platform.auth import issue_token

    def make(role: str, subject: str = "test", **claims) -> str:
        return issue_token(keys[0], role=role, subject=subject, **claims)

    return make


@pytest.fixture
def settings(nats_server, keys, tmp_path):
    from aap_platform.settings import Settings

    return Settings(nats_url=nats_server.url, call=CALL, data_dir=tmp_path / "data", jwks_file=keys[1])


@pytest.fixture
def auth(token):
    """auth(role="instructor", subject="agent", **claims) -> headers carrying a bearer token."""

    def make(role: str = "instructor", subject: str = "agent", **claims) -> dict:
        return {"Authorization": f"Bearer {token(role, subject, **claims)}"}

    return make
