"""Settings from the environment, read once by each process's wiring (never at import)."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from aap_contract.config import DEFAULT_CALL


class Settings(msgspec.Struct, frozen=True):
    nats_url: str
    call: str = DEFAULT_CALL
    data_dir: Path = Path(".aap")
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jwt_audience: str = "aap"
    nats_replicas: int = 1
    nats_ca: Path | None = None  # the CA of the NATS servers' TLS certificates (AAP_NATS_CA)
    nats_credentials: Path | None = None  # None: <data>/keys/nats/<service>.json if it exists
    event_keys_dir: Path | None = None  # None: <data>/keys/events
    clock: str = "shared"  # "real": the real clock, the clock bucket not even watched
    check_seconds: float = 30.0  # how often the stream's configuration is checked
    seal_minutes: float = 0.0  # 0: seals only at each session closing
    metrics_port: int | None = None  # a plain /metrics listener of its own (private network)
    metrics_host: str = "0.0.0.0"
    seal_dir: Path | None = None  # where seals are also written, outside the bus (None: <data>/seals)
    snapshot_events: int = 10_000  # a view snapshot every so many events (0: not by count)
    snapshot_seconds: float = 60.0  # and every so many seconds if the view moved (0: not by time)
    snapshots: bool = True  # False: no snapshot loaded nor saved (every start replays the log)
    ack_wait_seconds: float = 5.0  # a reactor's message in flight in a dead instance is redelivered after it
    ready_max_behind: int = 1000  # /health/ready: a view further behind the stream is not ready
    ready_max_stale: float = 10.0  # /health/ready: a view that has not reached a sequence seen this long ago
    ready_max_lag: int = 10000  # /health/ready: a reactor with more events pending is not ready
    ready_timeout: float = 0.3  # /health/ready: the bound of each bus request it makes
    lease_seconds: float = 5.0  # a dead lease holder's work (sending, polling) moves on after this
    instance: str = ""  # this process among the service's instances (AAP_INSTANCE; default host-pid)

    def credentials_for(self, identity: str) -> Path:
        return self.nats_credentials or self.data_dir / "keys" / "nats" / f"{identity}.json"

    @property
    def keys_dir(self) -> Path:
        return self.event_keys_dir or self.data_dir / "keys" / "events"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("AAP_DATA_DIR", ".aap"))
        jwks_file = env.get("AAP_JWKS_FILE")
        return cls(
            nats_url=env.get("NATS_URL", "nats://127.0.0.1:4222"),
            call=env.get("AAP_CALL", DEFAULT_CALL),
            data_dir=data_dir,
            jwks_file=Path(jwks_file)
            if jwks_file
            else (None if env.get("AAP_JWKS_URL") else data_dir / "keys" / "jwks.json"),
            jwks_url=env.get("AAP_JWKS_URL"),
            jwt_audience=env.get("AAP_JWT_AUDIENCE", "aap"),
            nats_replicas=int(env.get("AAP_NATS_REPLICAS", "1")),
            nats_ca=Path(env["AAP_NATS_CA"]) if env.get("AAP_NATS_CA") else None,
            nats_credentials=Path(env["AAP_NATS_CREDENTIALS"]) if env.get("AAP_NATS_CREDENTIALS") else None,
            event_keys_dir=Path(env["AAP_EVENT_KEYS_DIR"]) if env.get("AAP_EVENT_KEYS_DIR") else None,
            clock=env.get("AAP_CLOCK", "shared"),
            check_seconds=float(env.get("AAP_STREAM_CHECK_SECONDS", "30")),
            seal_minutes=float(env.get("AAP_SEAL_MINUTES", "0")),
            metrics_port=int(env["AAP_METRICS_PORT"]) if env.get("AAP_METRICS_PORT") else None,
            metrics_host=env.get("AAP_METRICS_HOST", "0.0.0.0"),
            seal_dir=Path(env["AAP_SEAL_DIR"]) if env.get("AAP_SEAL_DIR") else None,
            snapshot_events=int(env.get("AAP_SNAPSHOT_EVENTS", "10000")),
            snapshot_seconds=float(env.get("AAP_SNAPSHOT_SECONDS", "60")),
            snapshots=env.get("AAP_SNAPSHOTS", "on").lower() not in ("off", "0", "false", "no"),
            ack_wait_seconds=float(env.get("AAP_ACK_WAIT_SECONDS", "5")),
            ready_max_behind=int(env.get("AAP_READY_MAX_BEHIND", "1000")),
            ready_max_lag=int(env.get("AAP_READY_MAX_LAG", "10000")),
            ready_max_stale=float(env.get("AAP_READY_MAX_STALE_SECONDS", "10")),
            ready_timeout=float(env.get("AAP_READY_TIMEOUT_SECONDS", "0.3")),
            lease_seconds=float(env.get("AAP_LEASE_SECONDS", "5")),
            instance=env.get("AAP_INSTANCE", ""),
        )
