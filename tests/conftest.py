"""Fixtures shared by every tier: a real nats-server on a free port in a temporary folder,
secured as `aap up` secures it (one identity per service, no anonymous access), with the
call's streams and buckets set up by the administrator and every service's signing key.

`nc` and `store` connect as `test-root`, an identity only test servers have: they play every
service at once (events are signed with the key of their type's publisher)."""

from __future__ import annotations

import os

import pytest

from aap_platform.natsauth import SERVICES, TEST_ROOT, auth_dir_of, connect_as
from aap_platform.natsserver import EmbeddedNats
from aap_platform.provision import provision
from aap_platform.signing import all_signers, ensure_event_keys, events_key_dir
from aap_platform.store import EventStore

CALL = "hdf-itn7-axe3-2021"
# The fault suite (tests/chaos: processes killed, minutes of load) runs with `make chaos`, not `make test`.
collect_ignore = [] if os.environ.get("AAP_CHAOS") else ["chaos"]


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def nats_server(data_dir, tmp_path):
    server = EmbeddedNats(tmp_path / "nats", auth_dir=auth_dir_of(data_dir), test_root=True).start()
    ensure_event_keys(events_key_dir(data_dir), SERVICES)
    yield server
    server.stop()


async def connect(server: EmbeddedNats, identity: str):
    return await connect_as(server.url, server.credentials[identity])


@pytest.fixture
async def provisioned(nats_server):
    admin = await connect(nats_server, "admin")
    try:
        await provision(admin.jetstream(), CALL)
    finally:
        await admin.close()
    return nats_server


@pytest.fixture
async def nc(provisioned):
    conn = await connect(provisioned, TEST_ROOT)
    yield conn
    await conn.close()


@pytest.fixture
def signers(nats_server, data_dir):
    return all_signers(events_key_dir(data_dir), SERVICES)


@pytest.fixture
async def store(nc, signers, data_dir):
    """Loads refuse what the services refuse (so that what it appends chains as theirs do)."""
    from aap_contract.config import load_call
    from aap_platform.guard import Guard
    from aap_platform.signing import KEYRING, Keyring

    s = EventStore(nc.jetstream(), CALL, signer=signers)
    s.guard = Guard("test", load_call(CALL), Keyring.from_file(events_key_dir(data_dir) / KEYRING))
    await s.ensure_stream()
    return s


@pytest.fixture
def keys(data_dir):
    """A local signing key pair: (private PEM path, JWKS path), in the data folder's keys/ (beside
    the NATS identities and the event keys, as `aap up` keeps them)."""
    from aap_platform.auth import ensure_dev_keys

    return ensure_dev_keys(data_dir / "keys")


@pytest.fixture
def token(keys):
    """token(role, subject="t", sirens=None, member_id=None) -> a signed bearer token."""
    from aap_platform.auth import issue_token

    def make(role: str, subject: str = "test", **claims) -> str:
        return issue_token(keys[0], role=role, subject=subject, **claims)

    return make


@pytest.fixture
def settings(provisioned, keys, data_dir):
    from aap_platform.settings import Settings

    return Settings(nats_url=provisioned.url, call=CALL, data_dir=data_dir, jwks_file=keys[1])


@pytest.fixture
def auth(token):
    """auth(role="instructor", subject="agent", **claims) -> headers carrying a bearer token."""

    def make(role: str = "instructor", subject: str = "agent", **claims) -> dict:
        return {"Authorization": f"Bearer {token(role, subject, **claims)}"}

    return make


def broker(server: EmbeddedNats, identity: str = TEST_ROOT):
    """A FastStream broker connected as `identity`."""
    from faststream.nats import NatsBroker
    from faststream.nats.security import NatsUserPassword

    creds = server.credentials[identity]
    return NatsBroker(
        server.url, security=NatsUserPassword(creds.user, creds.password), inbox_prefix=creds.inbox_prefix
    )
