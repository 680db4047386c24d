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
        )
