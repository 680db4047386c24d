"""Every service's view survives a snapshot exactly: on a generated history with every event
type, replay → snapshot → load → the rest of the history equals the replay of it all; and a
snapshot opens only with its service's own signature."""

from __future__ import annotations

import asyncio
import importlib
import pickle

import msgspec
import pytest

from aap_contract.config import DEFAULT_CALL, load_call
from aap_platform.audit import digest
from aap_platform.codec import decode
from aap_platform.seal import Digest
from aap_platform.signing import Keyring, Signer, ensure_event_keys, private_key_file
from aap_platform.snapshot import Refused, Signed, Snapshot, capture, dumps, dumps_aside, loads, opened, seal
from bench.history import History

SERVICES = ("intake", "eligibility", "committee", "budget", "notifier", "connector", "console")
MESSAGES = [(h, payload) for _, payload, h in History(DEFAULT_CALL).messages(300)]


def projection(service: str):
    return importlib.import_module(f"services.{service}.view").projection(load_call(DEFAULT_CALL))


def feed(view, messages, first_seq: int = 1) -> None:
    for seq, (headers, payload) in enumerate(messages, start=first_seq):
        view.chain(seq, headers)
        kind = headers["Aap-Type"]
        if view.types is None or kind in view.types:
            view.state = view.evolve(view.state, view.decode(payload, kind))
        view.position = seq


@pytest.mark.parametrize("service", SERVICES)
def test_replay_then_snapshot_then_load_equals_the_replay(service):
    cut = len(MESSAGES) // 2
    whole = projection(service)
    feed(whole, MESSAGES)
    first = projection(service)
    feed(first, MESSAGES[:cut])
    first.ready.set()
    snap = capture(first)
    assert snap is not None and snap.position == cut and snap.link == MESSAGES[cut - 1][0]["Aap-Hash"]
    state = asyncio.run(dumps_aside(snap.state))  # as a service saves it: in a forked child
    assert state == dumps(first.state)

    again = projection(service)
    again.loaded(loads(state), snap.position, snap.link)
    assert digest(again.state) == digest(first.state)
    feed(again, MESSAGES[cut:], first_seq=cut + 1)
    assert digest(again.state) == digest(whole.state)
    # the chain's digest, once checked up to the snapshot, continues with the links met since
    checked = Digest()
    for seq, (headers, _) in enumerate(MESSAGES[:cut], start=1):
        checked.add(seq, headers["Aap-Hash"])
    assert checked.hexdigest() == snap.digest
    again.chained(checked)
    assert again.digest is not None and again.digest.hexdigest() == whole.digest.hexdigest()


def test_the_history_holds_the_decoded_events():
    assert len({decode(p).type for _, p in MESSAGES}) > 20


@pytest.fixture
def keys(tmp_path):
    ensure_event_keys(tmp_path, ("intake", "eligibility"))
    ring = Keyring.from_file(tmp_path / "keyring.json")
    return {s: Signer.from_file(s, private_key_file(tmp_path, s)) for s in ("intake", "eligibility")}, ring


SNAP = Snapshot("intake", "intake-dossiers", DEFAULT_CALL, 7, "link", "digest", "now", pickle.dumps({"a": 1}))


def moved(data: bytes) -> bytes:
    """The signed snapshot with another position under the same signature."""
    signed = msgspec.msgpack.decode(data, type=Signed)
    body = msgspec.msgpack.encode(msgspec.structs.replace(SNAP, position=8))
    return msgspec.msgpack.encode(Signed(body, signed.kid, signed.sig))


def test_a_snapshot_opens_with_its_service_signature(keys):
    signers, ring = keys
    assert opened(seal(SNAP, signers["intake"]), "intake", ring) == SNAP


@pytest.mark.parametrize(
    "spoil, reason",
    [
        (lambda data, signers: data[:40] + bytes([data[40] ^ 1]) + data[41:], {"signature", "unreadable"}),
        (lambda data, signers: moved(data), {"signature"}),
        (lambda data, signers: seal(SNAP, signers["eligibility"]), {"signature"}),
        (lambda data, signers: b"not a snapshot", {"unreadable"}),
    ],
)
def test_a_spoiled_or_foreign_snapshot_is_refused(keys, spoil, reason):
    signers, ring = keys
    data = spoil(seal(SNAP, signers["intake"]), signers)
    with pytest.raises(Refused) as refused:
        opened(data, "intake", ring)
    assert refused.value.reason in reason


def test_an_unsigned_snapshot_is_refused_without_a_keyring(keys):
    signers, _ = keys
    with pytest.raises(Refused) as refused:
        opened(seal(SNAP, signers["intake"]), "intake", None)
    assert refused.value.reason == "unsigned"
