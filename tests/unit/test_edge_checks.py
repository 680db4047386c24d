"""Validate at the edge, trust the log: a dossier's constraints are judged on input
(aap_platform.validation.parse) and not again when an event is read back (aap_platform.codec.decode)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from litestar.exceptions import ValidationException

from aap_contract.checks import checked
from aap_contract.dossier import Applicant, Dossier
from aap_platform.codec import decode, encode
from aap_platform.validation import parse
from bench.payloads import history, scenario_dossier

SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json").read_text())["steps"][
    0
]["dossier"]


def test_the_checked_mirror_has_the_same_fields_options_and_encoding():
    for plain in (Dossier, Applicant):
        mirror = checked(plain)
        assert mirror is not plain and mirror.__name__ == plain.__name__
        assert [(f.name, f.default) for f in msgspec.structs.fields(mirror)] == [
            (f.name, f.default) for f in msgspec.structs.fields(plain)
        ]
        for option in ("frozen", "forbid_unknown_fields", "omit_defaults", "gc"):
            assert getattr(mirror.__struct_config__, option) == getattr(plain.__struct_config__, option)
    body = json.dumps(SAMPLE).encode()
    assert msgspec.json.encode(msgspec.json.decode(body, type=checked(Dossier))) == msgspec.json.encode(
        msgspec.json.decode(body, type=Dossier)
    )


def test_parse_judges_the_constraints_and_returns_the_plain_type():
    value = parse(json.dumps(SAMPLE).encode(), Dossier)
    assert type(value) is Dossier and type(value.applicants[0]) is Applicant
    assert value == msgspec.convert(SAMPLE, Dossier)
    bad = {**SAMPLE, "applicants": [{**SAMPLE["applicants"][0], "siren": "12"}], "title": ""}
    with pytest.raises(ValidationException) as err:
        parse(json.dumps(bad).encode(), Dossier)
    assert {e["field"] for e in err.value.extra} == {"applicants[0].siren", "title"}


def test_an_event_in_the_log_is_decoded_without_judging_its_constraints_again():
    event = history(scenario_dossier(), "d1", 1)[0]
    raw = msgspec.json.decode(encode(event))
    raw["data"]["dossier"]["applicants"][0]["siren"] = "12"  # as if an older rule had let it in
    payload = msgspec.json.encode(raw)
    decoded = decode(payload)
    assert decoded.data.dossier.applicants[0].siren == "12"
    assert encode(decoded) == payload
