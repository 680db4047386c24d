"""A closed bus: one NATS identity per service and per operator role, each allowed only the
subjects it needs, and the nats-server configuration that enforces it.

Identities (user + random password, one 0600 JSON file each under `<data>/keys/nats/`):
- each service publishes only on its own aggregates' subjects (the contract names the
  publisher of every event type), creates only ephemeral consumers (its views) and its own
  durable reactor consumer, acknowledges only that consumer's messages, and reads the rest;
- `admin` (used by `aap` set-up) creates, updates and deletes streams, consumers and buckets,
  but does not write events nor the clock;
- `auditor` reads only; `clock` alone writes the clock bucket.
Replies go to a per-identity inbox prefix (`_INBOX_<identity>`), so no one reads another's answers.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

import msgspec

from aap_contract.config import DEFAULT_CALL
from aap_contract.events import EVENT_TYPES

SERVICES: tuple[str, ...] = tuple(dict.fromkeys(t.publisher for t in EVENT_TYPES))
OPERATORS = ("admin", "auditor", "clock")
READ_ONLY_SERVICES = ("console",)  # services that append no event (they read, and call the others)
IDENTITIES = (*OPERATORS, *SERVICES, *READ_ONLY_SERVICES)
# Tests only (EmbeddedNats(test_root=True)): plays every service at once. Never in a deployment.
TEST_ROOT = "test-root"
# Object stores a service writes (bucket prefix; the call id completes it, `objects.bucket_name`).
OBJECT_STORES = {"intake": "aap_documents", "notifier": "aap_official"}
# Key-value buckets a service writes (bucket prefix; the call id completes it): the personal-data
# keys (made by those appending personal data), the connector's cursors.
SNAPSHOTS = "aap_snapshots"  # each service's own view-snapshot bucket: aap_snapshots_<service>_<call>
KV_WRITERS = {"intake": ("aap_privacy",), "notifier": ("aap_privacy",), "connector": ("aap_connector",)}


class Credentials(msgspec.Struct, frozen=True):
    user: str
    password: str

    @property
    def inbox_prefix(self) -> str:
        return inbox_prefix(self.user)


def inbox_prefix(identity: str) -> str:
    return f"_INBOX_{identity}"


def aggregates_of(service: str) -> list[str]:
    return sorted({t.aggregate for t in EVENT_TYPES if t.publisher == service})


def credentials_file(auth_dir: Path, identity: str) -> Path:
    return Path(auth_dir) / f"{identity}.json"


def load_credentials(path: Path) -> Credentials:
    return msgspec.json.decode(Path(path).read_bytes(), type=Credentials)


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def ensure_credentials(auth_dir: Path, identities: tuple[str, ...] = IDENTITIES) -> dict[str, Credentials]:
    """Each identity's credentials, created (random password, file 0600) when missing."""
    out = {}
    for identity in identities:
        path = credentials_file(auth_dir, identity)
        if not path.exists():
            _write_secret(path, msgspec.json.encode(Credentials(identity, secrets.token_urlsafe(32))))
        out[identity] = load_credentials(path)
    return out


# Read-only JetStream requests: stream and consumer info, direct gets, ephemeral (ordered)
# consumers — `$JS.API.CONSUMER.CREATE.<stream>` with no name creates an ephemeral one only —
# and the flow-control answers those consumers ask for.
_READ = [
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.NAMES",
    "$JS.API.CONSUMER.INFO.*.*",
    "$JS.API.CONSUMER.CREATE.*",
    "$JS.API.DIRECT.GET.*",
    "$JS.API.DIRECT.GET.*.>",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.FC.>",
]


def _bucket(prefix: str, call_id: str) -> str:
    return f"{prefix}_" + re.sub(r"[^A-Za-z0-9]", "_", call_id)


def permissions(identity: str, calls: tuple[str, ...] = (DEFAULT_CALL,)) -> dict:
    """What `identity` may publish and subscribe to, for the calls the server carries (the
    buckets' names include the call id)."""
    inbox = inbox_prefix(identity) + ".>"
    clocks = [f"$KV.{_bucket('aap_clock', c)}.>" for c in calls]
    if identity == TEST_ROOT:
        return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    if identity == "admin":
        return {
            # the clock is the clock's; personal-data keys may be erased (aap privacy erase)
            "publish": {"allow": [">"], "deny": ["aap.>", *clocks]},
            "subscribe": {"allow": [inbox]},
        }
    if identity == "auditor":
        return {"publish": {"allow": list(_READ)}, "subscribe": {"allow": [inbox]}}
    if identity == "clock":
        return {"publish": {"allow": [*_READ, *clocks]}, "subscribe": {"allow": [inbox]}}
    durable = f"{identity}-reactor"
    allow = [
        *_READ,
        *(f"aap.*.{aggregate}.*" for aggregate in aggregates_of(identity)),
        f"$JS.API.CONSUMER.DURABLE.CREATE.*.{durable}",
        f"$JS.ACK.*.{durable}.>",
        f"aap-parked.*.{identity}",
    ]
    if identity in OBJECT_STORES:  # its bucket's chunks and metadata (objects are never replaced: no purge)
        allow += [f"$O.{_bucket(OBJECT_STORES[identity], c)}.>" for c in calls]
    allow += [f"$KV.{_bucket(prefix, c)}.>" for prefix in KV_WRITERS.get(identity, ()) for c in calls]
    for c in calls:  # its own view snapshots (`aap_platform.snapshot`): replaced at each save, hence the purge
        snapshots = _bucket(f"{SNAPSHOTS}_{identity}", c)
        allow += [f"$O.{snapshots}.>", f"$JS.API.STREAM.PURGE.OBJ_{snapshots}"]
    # its own lease (one key, its name) among the call's instances: `aap_platform.lease`
    allow += [f"$KV.{_bucket('aap_leases', c)}.{identity}" for c in calls]
    return {"publish": {"allow": allow}, "subscribe": {"allow": [inbox]}}


def server_config(
    credentials: dict[str, Credentials],
    *,
    host: str,
    port: int,
    store_dir: Path,
    monitor_port: int | None = None,
    calls: tuple[str, ...] = (DEFAULT_CALL,),
) -> dict:
    """The nats-server configuration (JSON is valid NATS configuration syntax)."""
    config: dict = {
        "host": host,
        "port": port,
        "jetstream": {"store_dir": str(store_dir)},
        "authorization": {
            "users": [
                {"user": c.user, "password": c.password, "permissions": permissions(identity, calls)}
                for identity, c in credentials.items()
            ]
        },
    }
    if monitor_port:
        config["http_port"] = monitor_port
    return config


def write_server_config(path: Path, config: dict) -> Path:
    _write_secret(Path(path), json.dumps(config, indent=2).encode())
    return Path(path)


def connect_options(credentials: Credentials | None) -> dict:
    """Keyword arguments for `nats.connect` / `NatsBroker` with these credentials."""
    if credentials is None:
        return {}
    return {"user": credentials.user, "password": credentials.password, "inbox_prefix": credentials.inbox_prefix}


def auth_dir_of(data_dir: Path) -> Path:
    return Path(data_dir) / "keys" / "nats"


def find_credentials(data_dir: Path, identity: str) -> Credentials | None:
    """The identity's credentials: AAP_NATS_CREDENTIALS if set (a deployment mounts them), else
    under the data folder, if there are any (None: anonymous)."""
    given = os.environ.get("AAP_NATS_CREDENTIALS")
    path = Path(given) if given else credentials_file(auth_dir_of(data_dir), identity)
    return load_credentials(path) if path.exists() else None


async def connect_as(url: str, credentials: Credentials | None, **options):
    """A nats-py connection with these credentials (the comma-separated URLs of a cluster)."""
    import nats

    servers = [u.strip() for u in url.split(",") if u.strip()]
    ca = os.environ.get("AAP_NATS_CA")
    if ca and "tls" not in options:
        options["tls"] = tls_context(Path(ca))
    options.setdefault("connect_timeout", 5)
    options.setdefault("max_reconnect_attempts", 3)
    options.setdefault("pending_size", 0)  # no publish from a reconnect buffer after its caller gave up
    return await nats.connect(servers, **connect_options(credentials), **options)


def tls_context(ca_file: Path):
    """A client TLS context trusting the deployment's own CA (`aap deploy-secrets`)."""
    import ssl

    return ssl.create_default_context(cafile=str(ca_file))
