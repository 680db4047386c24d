"""What the compose deployment exposes and mounts: one HTTP entry published; NATS, Prometheus
and Grafana not; every service with TLS to NATS, its own credentials and signing key only, no
token-signing key anywhere; the secrets `aap deploy-secrets` makes, private and separated."""

from __future__ import annotations

from pathlib import Path

import yaml

from aap.deploy import write_secrets
from aap_platform.natsauth import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def compose(name: str = "compose.yaml") -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def test_only_the_http_entry_is_published():
    services = compose()["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"entry"}
    assert not compose("compose.cluster.yaml")["services"]["nats"].get("ports")


def test_each_service_mounts_its_own_secrets_and_talks_tls():
    services = compose()["services"]
    for name in SERVICES:
        service = services[name]
        mounts = service.get("volumes") or []
        secrets = [m for m in mounts if "deploy/secrets" in m]
        assert secrets == [f"./deploy/secrets/{name}:/run/secrets/aap:ro"], (name, mounts)
        env = {**compose()["x-service"]["environment"], **service.get("environment", {})}
        assert env["NATS_URL"].startswith("tls://") and env["AAP_NATS_CA"]
        assert "jwt-private" not in str(service) and "tokens" not in str(mounts)
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GRAFANA_ADMIN_PASSWORD" in services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert "token" not in str(services.get("setup", {}).get("command"))  # no token printed in logs


def test_deploy_secrets_are_private_and_separated(tmp_path):
    out = write_secrets(tmp_path / "secrets", uid=None)
    for name in SERVICES:
        folder = out / name
        files = {p.name for p in folder.iterdir()}
        assert files == {"nats.json", f"{name}.ed25519", "keyring.json", "ca.pem", "jwks.json"}, files
        assert (folder / "nats.json").stat().st_mode & 0o077 == 0
        assert (folder / f"{name}.ed25519").stat().st_mode & 0o077 == 0
    for conf in ("single.conf", "node-1.conf", "node-2.conf", "node-3.conf"):
        text = (out / "nats" / conf).read_text()
        assert '"tls"' in text and "authorization" in text
        assert (out / "nats" / conf).stat().st_mode & 0o077 == 0
    assert '"verify": true' in (out / "nats" / "node-1.conf").read_text()  # routes: mutual TLS
    assert (out / "ca" / "ca-key.pem").stat().st_mode & 0o077 == 0
