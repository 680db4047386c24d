"""`aap deploy-secrets`: everything secret a compose deployment needs, made once into one folder
(0700, files 0600), each service getting only its own sub-folder:

  <out>/nats/        nats-server configuration (identities and permissions, TLS on clients and
                     routes), one per cluster node too; the server's certificate and key
  <out>/ca/          the local certificate authority (ca.pem public; ca-key.pem stays here)
  <out>/<service>/   its NATS credentials, its event-signing key, the public keyring, the CA,
                     the tokens' public keys (JWKS) — never another service's secret
  <out>/admin/, auditor/, clock/   the operators' NATS credentials (+ CA, keyring)
  <out>/tokens/      the tokens' private signing key: only where tokens are issued

Nothing is printed but paths; no token is issued."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from aap_contract.config import DEFAULT_CALL, load_call
from aap_platform.auth import ensure_dev_keys
from aap_platform.natsauth import IDENTITIES, SERVICES, ensure_credentials, permissions
from aap_platform.signing import KEYRING, ensure_event_keys, private_key_file

NODES = ("nats", "nats-2", "nats-3")


def _private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def _give(folder: Path, uid: int) -> bool:
    """The folder and its files to the services' user (the image's `aap`, uid 10001): they are
    0600. Only root may; otherwise say what to run."""
    try:
        for path in (folder, *folder.rglob("*")):
            os.chown(path, uid, uid)
        return True
    except PermissionError:
        return False


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ensure_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AAP local CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    _private(key_path, _key_pem(key))
    cert_path.write_bytes(_cert_pem(cert))
    return cert, key


def server_certificate(ca: x509.Certificate, ca_key, names: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A certificate for the NATS nodes (server and route client: routes verify each other)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _cert_pem(cert), _key_pem(key)


def nats_config(credentials, *, node: str | None = None, calls: tuple[str, ...] = (DEFAULT_CALL,)) -> dict:
    tls = {"cert_file": "/etc/nats/server.pem", "key_file": "/etc/nats/server-key.pem", "ca_file": "/etc/nats/ca.pem"}
    config: dict = {
        "port": 4222,
        "http_port": 8222,  # monitoring: on the deployment's private network only
        "tls": {**tls, "timeout": 5},
        "jetstream": {"store_dir": "/data"},
        "authorization": {
            "users": [
                {"user": c.user, "password": c.password, "permissions": permissions(i, calls)}
                for i, c in credentials.items()
            ]
        },
    }
    if node is not None:
        config["server_name"] = node
        config["cluster"] = {
            "name": "aap",
            "port": 6222,
            "tls": {**tls, "verify": True, "timeout": 5},  # routes: mutual TLS with the local CA
            "routes": [f"tls://{other}:6222" for other in NODES if other != node],
        }
    return config


def write_secrets(out: Path, uid: int | None = None, calls: tuple[str, ...] = (DEFAULT_CALL,)) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(out, 0o700)
    credentials = ensure_credentials(out / "identities")
    keys = out / "events"
    ring = ensure_event_keys(keys, SERVICES)
    private_jwt, jwks = ensure_dev_keys(out / "tokens")
    ca, ca_key = ensure_ca(out / "ca")
    nats = out / "nats"
    if not (nats / "server.pem").exists():
        cert, key = server_certificate(ca, ca_key, NODES + ("localhost",))
        _private(nats / "server-key.pem", key)
        (nats / "server.pem").write_bytes(cert)
    shutil.copyfile(out / "ca" / "ca.pem", nats / "ca.pem")
    _private(nats / "single.conf", json.dumps(nats_config(credentials, calls=calls), indent=2).encode())
    for i, node in enumerate(NODES, 1):
        _private(
            nats / f"node-{i}.conf", json.dumps(nats_config(credentials, node=node, calls=calls), indent=2).encode()
        )
    for identity in IDENTITIES:
        folder = out / identity
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _private(folder / "nats.json", (out / "identities" / f"{identity}.json").read_bytes())
        shutil.copyfile(out / "ca" / "ca.pem", folder / "ca.pem")
        shutil.copyfile(ring, folder / KEYRING)
        shutil.copyfile(jwks, folder / "jwks.json")
        if identity in SERVICES:
            _private(private_key_file(folder, identity), private_key_file(keys, identity).read_bytes())
    assert private_jwt.exists()
    if uid is not None:
        for identity in IDENTITIES:
            if not _give(out / identity, uid):
                print(f"run as root, or: sudo chown -R {uid} {out / identity}")
    return out


def run(args: argparse.Namespace) -> int:
    calls = tuple(load_call(c).id for c in (args.call or [os.environ.get("AAP_CALL", DEFAULT_CALL)]))
    out = write_secrets(args.out, args.uid, calls)
    print(f"secrets in {out} (each service mounts only {out}/<service>; keep {out}/ca, {out}/tokens and")
    print(f"{out}/events private; publish {out}/events/{KEYRING} to the auditors)")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "deploy-secrets",
        help="make the NATS identities, TLS certificates (local CA), event keys and token keys of a compose deployment",
    )
    p.add_argument("--out", type=Path, default=Path(os.environ.get("AAP_SECRETS_DIR", "deploy/secrets")))
    p.add_argument("--call", action="append", help="a call the deployment runs (repeat; default $AAP_CALL)")
    p.add_argument(
        "--uid", type=int, default=10001, help="owner of the services' folders: the image's user (default 10001)"
    )
    p.set_defaults(func=run)
