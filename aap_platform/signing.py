"""Signed events: each service signs what it appends with its own Ed25519 key; everyone who
reads the log checks the signature against a public keyring that auditors can pin.

The signature covers the event's subject and its chain link (`Aap-Hash`, a hash of the
event's bytes and of its aggregate's previous link), so it binds the content, the place in
its aggregate's chain and the subject. Headers: `Aap-Key` (key id) and `Aap-Sig` (base64).

Files (under `<data>/keys/events/` by default): `<service>.ed25519` (the private key, raw
32 bytes, 0600) and `keyring.json` `{"keys": [{"kid", "service", "public"}]}` — old keys stay
in the keyring after a rotation, so that old events still verify.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from aap_contract.events import BY_NAME

KEY_HEADER = "Aap-Key"
SIG_HEADER = "Aap-Sig"
KEYRING = "keyring.json"
UNSIGNED = "n'est pas signé"


class KeyEntry(msgspec.Struct, frozen=True):
    kid: str
    service: str
    public: str  # base64 of the raw 32-byte public key


class KeyringFile(msgspec.Struct):
    keys: list[KeyEntry] = msgspec.field(default_factory=list)


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def message(subject: str, link: str) -> bytes:
    return subject.encode() + b"\n" + link.encode()


class Signer:
    """One service's signing key. `types`: the event types it may sign (those it publishes)."""

    def __init__(self, service: str, private: Ed25519PrivateKey) -> None:
        self.service = service
        self._key = private
        self.kid = key_id(_raw_public(private))

    @classmethod
    def from_file(cls, service: str, path: Path) -> Signer:
        return cls(service, Ed25519PrivateKey.from_private_bytes(Path(path).read_bytes()))

    def may_sign(self, type_name: str) -> bool:
        kind = BY_NAME.get(type_name)
        return kind is not None and kind.publisher == self.service

    def headers(self, subject: str, link: str) -> dict[str, str]:
        signature = self._key.sign(message(subject, link))
        return {KEY_HEADER: self.kid, SIG_HEADER: base64.b64encode(signature).decode()}

    def sign(self, data: bytes) -> tuple[str, str]:
        """(key id, base64 signature) of any bytes the service vouches for (its view snapshots)."""
        return self.kid, base64.b64encode(self._key.sign(data)).decode()


class Signers:
    """Several services' keys (tests and tools that write on behalf of each service): the key
    used is the one of the event type's publisher."""

    def __init__(self, signers: dict[str, Signer]) -> None:
        self.by_service = signers

    def for_type(self, type_name: str) -> Signer | None:
        kind = BY_NAME.get(type_name)
        return self.by_service.get(kind.publisher) if kind is not None else None


class Keyring:
    def __init__(self, entries: list[KeyEntry]) -> None:
        self.entries = entries
        self._keys = {
            e.kid: (e.service, Ed25519PublicKey.from_public_bytes(base64.b64decode(e.public))) for e in entries
        }

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        return cls(msgspec.json.decode(Path(path).read_bytes(), type=KeyringFile).keys)

    def verify(self, service: str, kid: str, data: bytes, sig: str) -> None:
        """Raises unless `sig` is `service`'s signature of `data` (KeyError: not its key)."""
        known = self._keys.get(kid)
        if known is None or known[0] != service:
            raise KeyError(f"key {kid} is not one of {service}'s")
        known[1].verify(base64.b64decode(sig), data)

    def problem(self, subject: str, type_name: str | None, link: str, headers: dict[str, str] | None) -> str | None:
        """None when the event is signed by its type's publisher; else what is wrong."""
        kind = BY_NAME.get(type_name or "")
        if kind is None:
            return f"type d'événement inconnu {type_name!r}"
        kid = headers.get(KEY_HEADER) if headers else None
        sig = headers.get(SIG_HEADER) if headers else None
        if not kid or not sig:
            return f"{type_name} {UNSIGNED}"
        known = self._keys.get(kid)
        if known is None:
            return f"{type_name} signé d'une clé inconnue ({kid})"
        service, public = known
        if service != kind.publisher:
            return f"{type_name} signé par {service}, alors que seul {kind.publisher} le publie"
        try:
            public.verify(base64.b64decode(sig), message(subject, link))
        except (InvalidSignature, ValueError):
            return f"{type_name} : signature falsifiée (clé {kid} de {service})"
        return None


def events_key_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "keys" / "events"


def private_key_file(key_dir: Path, service: str) -> Path:
    return Path(key_dir) / f"{service}.ed25519"


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)
    os.chmod(path, 0o600)


def ensure_event_keys(key_dir: Path, services: tuple[str, ...], rotate: tuple[str, ...] = ()) -> Path:
    """Each service's private key (created when missing, or replaced when named in `rotate`)
    and the public keyring of every key ever used (a rotated key stays, so old events verify)."""
    key_dir = Path(key_dir)
    ring_path = key_dir / KEYRING
    ring = msgspec.json.decode(ring_path.read_bytes(), type=KeyringFile) if ring_path.exists() else KeyringFile()
    known = {e.kid for e in ring.keys}
    for service in services:
        path = private_key_file(key_dir, service)
        if service in rotate or not path.exists():
            _write_private(path, Ed25519PrivateKey.generate())
        public = _raw_public(Ed25519PrivateKey.from_private_bytes(path.read_bytes()))
        kid = key_id(public)
        if kid not in known:
            ring.keys.append(KeyEntry(kid, service, base64.b64encode(public).decode()))
            known.add(kid)
    tmp = ring_path.with_suffix(".tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(ring), indent=2))
    tmp.replace(ring_path)
    return ring_path


def all_signers(key_dir: Path, services: tuple[str, ...]) -> Signers:
    return Signers({s: Signer.from_file(s, private_key_file(key_dir, s)) for s in services})
