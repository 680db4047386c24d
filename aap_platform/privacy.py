"""Personal data in an immutable log: crypto-shredding.

The personal fields of an event (a contact's name, e-mail and phone in a dossier, the
recipients of a notification) are stored *sealed*: encrypted with a key of their data subject
(one contact person, named by a pseudonymous id derived from the e-mail). The keys live outside
the log, in the JetStream key-value bucket `aap_privacy_<call>`: shared by every service on every
machine like the log, replicated like it, and a key purged from it is gone (JetStream erases a
deleted message). Erasing a person (`aap privacy erase`) purges their key: the log is unchanged —
every hash still verifies — but what was sealed with that key can no longer be read, and every
reader shows `ERASED`.

Sealing happens in `execute` (the platform), before the event is built; the domain never sees a
key. Views keep what the log holds; what they show is revealed here when read (`reveal`):
the plain value, or `ERASED`. Sealing is deterministic per subject (AES-SIV), so that the same
address sealed twice is the same token (the notifier groups recipients by it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterable
from typing import Any
from weakref import WeakKeyDictionary

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from nats.js.errors import (
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)

from aap_contract.events import DossierAmended, DossierSubmitted, EventData, NotificationSent

log = logging.getLogger(__name__)
PREFIX = "aap-sealed:v1:"
ERASED = "[effacé]"
MASKED = "[masqué]"
SEALED = re.compile(re.escape(PREFIX) + r"(c-[0-9a-f]{24}):([A-Za-z0-9_\-=]+)")
# Personal fields by their name in a view's or a response's JSON: masked for the auditor role.
PERSONAL_KEYS = frozenset({"contact", "contact_email", "recipients", "email", "phone"})


def bucket_name(call_id: str) -> str:
    return "aap_privacy_" + "".join(c if c.isalnum() else "_" for c in call_id)


def subject_for(call_id: str, email: str) -> str:
    """A contact person's pseudonymous id: the same e-mail (any case) is the same person."""
    digest = hashlib.sha256(f"{call_id}\n{email.strip().lower()}".encode()).hexdigest()
    return "c-" + digest[:24]


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _seal(value: str, subject: str, key: bytes) -> str:
    token = AESSIV(key).encrypt(value.encode(), [subject.encode()])
    return f"{PREFIX}{subject}:{base64.urlsafe_b64encode(token).decode()}"


def _open(token: str, key: bytes) -> str:
    found = SEALED.fullmatch(token)
    if found is None:
        return ERASED
    subject, body = found.groups()
    try:
        return AESSIV(key).decrypt(base64.urlsafe_b64decode(body), [subject.encode()]).decode()
    except (InvalidTag, ValueError):
        return ERASED


class Vault:
    """The subjects' keys (KV bucket), a cache kept current by a watch of the bucket."""

    def __init__(self, js: Any, call_id: str, replicas: int = 1) -> None:
        self.js, self.call_id, self.replicas = js, call_id, replicas
        self._kv: Any = None
        self._keys: dict[str, bytes] = {}
        self._watch: asyncio.Task | None = None

    async def open(self, watch: bool = True) -> Vault:
        try:
            self._kv = await self.js.key_value(bucket_name(self.call_id))
        except (BucketNotFoundError, NotFoundError):
            self._kv = await self.js.create_key_value(
                bucket=bucket_name(self.call_id), history=1, replicas=self.replicas
            )
        if watch:
            self._watch = asyncio.create_task(self._follow(), name="privacy-keys")
        return self

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
            self._watch = None

    async def _follow(self) -> None:
        """Erasures made elsewhere (`aap privacy erase`) reach this process's cache."""
        while True:
            try:
                watcher = await self._kv.watchall(include_history=False)
                async for entry in watcher:
                    if entry is None:
                        continue
                    if entry.operation in ("DEL", "PURGE") or not entry.value:
                        self._keys.pop(entry.key, None)
                    else:
                        self._keys[entry.key] = entry.value
            except asyncio.CancelledError:
                raise
            except Exception:  # the connection came back: watch again
                log.warning("privacy: key watch interrupted, resuming", exc_info=True)
                await asyncio.sleep(1.0)

    async def key(self, subject: str, create: bool = False, fresh: bool = False) -> bytes | None:
        """The subject's key (None: erased, or never made). `fresh`: read from the bucket, not
        the cache — a read right after an erasure elsewhere must not see the key."""
        cached = None if fresh else self._keys.get(subject)
        if cached is not None:
            return cached
        try:
            entry = await self._kv.get(subject)
            if entry.value:
                self._keys[subject] = entry.value
                return entry.value
        except (KeyNotFoundError, KeyDeletedError):
            pass
        self._keys.pop(subject, None)
        if not create:
            return None
        key = AESSIV.generate_key(bit_length=512)
        try:  # create, never overwrite: two processes sealing a new person agree on one key
            await self._kv.create(subject, key)
        except KeyWrongLastSequenceError:
            return await self.key(subject, fresh=True)
        self._keys[subject] = key
        return key

    async def erase(self, subject: str) -> bool:
        """Destroy the subject's key (and its history in the bucket). True if it existed."""
        existed = await self.key(subject) is not None
        await self._kv.purge(subject)
        self._keys.pop(subject, None)
        return existed

    # --- sealing ---------------------------------------------------------------------------

    async def seal_email(self, email: str) -> str:
        if is_sealed(email):
            return email
        subject = subject_for(self.call_id, email)
        key = await self.key(subject, create=True)
        assert key is not None
        return _seal(email, subject, key)

    async def seal(self, data: EventData) -> EventData:
        """The event with its personal fields sealed (other types unchanged)."""
        if isinstance(data, (DossierSubmitted, DossierAmended)):
            applicants = []
            for a in data.dossier.applicants:
                c = a.contact
                if is_sealed(c.email):
                    applicants.append(a)
                    continue
                subject = subject_for(self.call_id, c.email)
                key = await self.key(subject, create=True)
                assert key is not None
                contact = msgspec.structs.replace(
                    c,
                    name=_seal(c.name, subject, key),
                    email=_seal(c.email, subject, key),
                    phone=_seal(c.phone, subject, key) if c.phone else c.phone,
                )
                applicants.append(msgspec.structs.replace(a, contact=contact))
            return msgspec.structs.replace(data, dossier=msgspec.structs.replace(data.dossier, applicants=applicants))
        if isinstance(data, NotificationSent):
            return msgspec.structs.replace(data, recipients=[await self.seal_email(r) for r in data.recipients])
        return data

    # --- revealing -------------------------------------------------------------------------

    async def reveal_all(self, tokens: Iterable[str]) -> dict[str, str]:
        """token -> plain value, or ERASED when its subject's key is gone."""
        by_subject: dict[str, list[str]] = {}
        for token in set(tokens):
            found = SEALED.match(token)
            by_subject.setdefault(found.group(1) if found else "", []).append(token)
        subjects = [s for s in by_subject if s]
        keys = dict(zip(subjects, await asyncio.gather(*(self.key(s, fresh=True) for s in subjects))))
        out: dict[str, str] = {}
        for subject, group in by_subject.items():
            key = keys.get(subject)
            for token in group:
                out[token] = _open(token, key) if key is not None else ERASED
        return out

    async def reveal(self, value: Any) -> Any:
        """A JSON-ready value (dicts, lists, strings) with every sealed string revealed."""
        tokens = [t for t in _strings(value) if is_sealed(t)]
        if not tokens:
            return value
        plain = await self.reveal_all(tokens)
        return _replace(value, lambda s: plain.get(s, s) if is_sealed(s) else s)

    async def reveal_text(self, text: str) -> str:
        plain = await self.reveal_all(m.group(0) for m in SEALED.finditer(text))
        return SEALED.sub(lambda m: plain.get(m.group(0), ERASED), text)


def mask(value: Any) -> Any:
    """Without personal fields (the auditor's reading): sealed strings and personal keys masked."""
    if isinstance(value, dict):
        return {k: (MASKED if k in PERSONAL_KEYS and v not in (None, [], "") else mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if is_sealed(value):
        return MASKED
    return value


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _replace(value: Any, f) -> Any:
    if isinstance(value, str):
        return f(value)
    if isinstance(value, dict):
        return {k: _replace(v, f) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace(v, f) for v in value]
    return value


# The vault of a store, attached when a service's runtime starts (a bare store seals nothing).
_VAULTS: WeakKeyDictionary[Any, Vault] = WeakKeyDictionary()
ENABLED_ENV = "AAP_PRIVACY"  # "off": no sealing (a deployment that seals upstream, or a benchmark)


async def attach(store: Any) -> Vault | None:
    if os.environ.get(ENABLED_ENV, "on").lower() == "off":
        return None
    vault = await Vault(store.js, store.call_id, getattr(store, "replicas", 1)).open()
    _VAULTS[store] = vault
    return vault


def vault_of(store: Any) -> Vault | None:
    return _VAULTS.get(store)


async def seal(store: Any, data: EventData) -> EventData:
    vault = _VAULTS.get(store)
    return data if vault is None else await vault.seal(data)


async def reveal(store: Any, value: Any) -> Any:
    vault = _VAULTS.get(store)
    return value if vault is None else await vault.reveal(value)
