"""The one-pass decode (the envelope's type, then its typed decoder) gives exactly what the
general path gives; a type named by the caller (the `Aap-Type` header) is checked, not trusted."""

from __future__ import annotations

import msgspec

from aap_contract.events import DossierWithdrawn
from aap_platform.codec import (
    _type_in,
    _typed,
    _typed_by_name,
    decode,
    decoder_with,
    encode,
)
from bench.payloads import history, scenario_dossier


def _one_pass(payload: bytes):
    return _typed(payload, _typed_by_name[_type_in(payload)])


def test_current_version_is_decoded_in_one_pass_to_the_same_event():
    for event in history(scenario_dossier(), "d1", 2):  # DossierSubmitted, DossierAmended
        payload = encode(event)
        assert _one_pass(payload) == event
        assert decode(payload) == event
        assert decode(payload, event.type) == event


def test_an_old_version_is_left_to_the_upcasting_path():
    event = history(scenario_dossier(), "d1", 1)[0]
    raw = msgspec.json.decode(encode(event))
    raw.update(type="DossierWithdrawn", version=1, data={"dossier_id": "d1"})
    payload = msgspec.json.encode(raw)
    assert _one_pass(payload) is None
    assert decode(payload).data == DossierWithdrawn(dossier_id="d1", reason="")
    assert decode(payload, "DossierWithdrawn").data == DossierWithdrawn(dossier_id="d1", reason="")


def test_keys_in_another_order_still_decode_by_the_envelope_type():
    event = history(scenario_dossier(), "d1", 1)[0]
    raw = msgspec.json.decode(encode(event))
    reordered = {"data": {**raw["data"], "type": "DossierWithdrawn"}, **{k: v for k, v in raw.items() if k != "data"}}
    assert decode(msgspec.json.encode(reordered)) == event


def test_a_wrong_or_unknown_type_name_falls_back_to_the_envelope():
    submitted = history(scenario_dossier(), "d1", 1)[0]
    payload = encode(submitted)
    assert decode(payload, "DossierAmended") == submitted  # same shape, other name: not trusted
    assert decode(payload, "NoSuchType") == submitted


def test_an_override_reads_only_its_fields_and_the_rest_stays_whole():
    class Slim(msgspec.Struct, frozen=True):
        dossier_id: str
        session: int

    slim = decoder_with({"DossierSubmitted": Slim})
    submitted, amended = history(scenario_dossier(), "d1", 2)
    event = slim(encode(submitted), "DossierSubmitted")
    assert event.data == Slim("d1", submitted.data.session)
    assert msgspec.structs.replace(event, data=None) == msgspec.structs.replace(submitted, data=None)
    assert slim(encode(amended)) == amended
