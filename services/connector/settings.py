"""The connector's own settings, from the environment (read by app.py's wiring, never at import).

AAP_DN_TOKEN or AAP_DN_TOKEN_FILE: DN's Bearer token (never logged, never in an event);
AAP_DN_URL: overrides the call's [connector] api_url; AAP_INTAKE_URL: intake's API;
AAP_CONNECTOR_TOKEN: a token of role `connector` for intake — without it, one is signed with the
local development key (<data dir>/keys/jwt-private.pem), as `aap token issue` does."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from aap_contract.config import Connector
from aap_platform.auth import issue_token

TOKEN_TTL = 3600


@dataclass(frozen=True)
class ConnectorSettings:
    dn_url: str
    dn_token: str | None
    intake_url: str
    intake_token: str | None
    private_key: Path

    @classmethod
    def from_env(cls, connector: Connector, data_dir: Path, env: dict[str, str] | None = None) -> ConnectorSettings:
        env = dict(os.environ if env is None else env)
        token = env.get("AAP_DN_TOKEN") or None
        if token is None and env.get("AAP_DN_TOKEN_FILE"):
            token = Path(env["AAP_DN_TOKEN_FILE"]).read_text(encoding="utf-8").strip() or None
        return cls(
            dn_url=env.get("AAP_DN_URL") or connector.api_url,
            dn_token=token,
            intake_url=env.get("AAP_INTAKE_URL", "http://127.0.0.1:8001"),
            intake_token=env.get("AAP_CONNECTOR_TOKEN") or None,
            private_key=data_dir / "keys" / "jwt-private.pem",
        )

    def __repr__(self) -> str:  # never print a token
        return f"ConnectorSettings(dn_url={self.dn_url!r}, intake_url={self.intake_url!r})"


class IntakeToken:
    """The token sent to intake: the configured one, or one signed locally and renewed."""

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings
        self._token: str | None = settings.intake_token
        self._until = float("inf") if self._token else 0.0

    def __call__(self) -> str:
        if self._token is None or time.time() > self._until:
            self._token = issue_token(self.settings.private_key, role="connector", subject="connector", ttl=TOKEN_TTL)
            self._until = time.time() + TOKEN_TTL / 2
        return self._token
