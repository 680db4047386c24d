"""The one-pass decode (shared.codec._fast_decode) gives exactly what the general path gives."""
from __future__ import annotations

import msgspec

from bench.payloads import history, scenario_dossier
from shared.codec import _fast_decode, decode, encode
from shared.events import DossierWithdrawn


def test_current_version_is_decoded_in_one_pass_to_the_same_event():
    for event in history(scenario_dossier(), "d1", 2):       # DossierSubmitted, DossierAmended
        payload = encode(event)
        assert _fast_decode(payload) == event
        assert decode(payload) == event


def test_an_old_version_is_left_to_the_upcasting_path():
    event = history(scenario_dossier(), "d1", 1)[0]
    raw = msgspec.json.decode(encode(event))
    raw.update(type="DossierWithdrawn", version=1, data={"dossier_id": "d1"})
    payload = msgspec.json.encode(raw)
    assert _fast_decode(payload) is None
    assert decode(payload).data == DossierWithdrawn(dossier_id="d1", reason="")


def test_keys_in_another_order_still_decode_by_the_envelope_type():
    event = history(scenario_dossier(), "d1", 1)[0]
    raw = msgspec.json.decode(encode(event))
    reordered = {"data": {**raw["data"], "type": "DossierWithdrawn"}, **{k: v for k, v in raw.items() if k != "data"}}
    assert decode(msgspec.json.encode(reordered)) == event
