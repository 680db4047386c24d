"""422 naming every faulty field at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from litestar.exceptions import ValidationException

from aap_contract.dossier import Dossier, siren_is_valid
from aap_platform.validation import parse

SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json").read_text())["steps"][
    0
]["dossier"]


def test_a_good_dossier_parses():
    assert parse(json.dumps(SAMPLE).encode(), Dossier).financing.global_cost_cents == 6_000_000


def test_every_faulty_field_is_named():
    bad = json.loads(json.dumps(SAMPLE))
    del bad["title"]
    bad["track"] = 3
    bad["applicants"][0]["siren"] = "12"
    bad["financing"]["requested_cents"] = -1
    bad["financing"]["own_funding_cents"] = 12.5
    bad["expenses"][0]["category"] = "bijoux"
    bad["software"]["involved"] = "oui"
    bad["surprise"] = 1
    with pytest.raises(ValidationException) as err:
        parse(json.dumps(bad).encode(), Dossier)
    fields = {e["field"] for e in err.value.extra}
    assert fields == {
        "title",
        "track",
        "applicants[0].siren",
        "financing.requested_cents",
        "financing.own_funding_cents",
        "expenses[0].category",
        "software.involved",
        "surprise",
    }
    assert err.value.status_code == 422


def test_unreadable_json_is_a_422():
    with pytest.raises(ValidationException) as err:
        parse(b"{not json", Dossier)
    assert err.value.status_code == 422


@pytest.mark.parametrize(
    "siren, ok",
    [("215903501", True), ("215903502", False), ("200041580", True), ("12345678", False), ("21590350a", False)],
)
def test_siren_checksum(siren, ok):
    assert siren_is_valid(siren) is ok
