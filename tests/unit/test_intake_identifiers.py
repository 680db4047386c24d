"""What intake checks of a dossier's identifiers and shares beyond their shape: the SIRET's Luhn
key and its SIREN, shares stated for every structure or none, making 100 % (issue 17)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from aap_contract.config import load_call
from services.intake.schemas import call_checks

CALL = load_call()
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json"


def dossier(**applicant) -> dict:
    d = copy.deepcopy(json.loads(SCENARIO.read_text())["steps"][0]["dossier"])
    d["applicants"][0].update(applicant)
    return d


def fields(d: dict) -> dict[str, str]:
    return {e["field"]: e["message"] for e in call_checks(d, CALL)}


def test_a_siret_must_pass_luhn_and_start_with_its_siren():
    siren = dossier()["applicants"][0]["siren"]
    from aap.demo_data import luhn_complete

    good = luhn_complete(siren + "0001")
    assert fields(dossier(siret=good)) == {}
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert "clé de contrôle" in fields(dossier(siret=bad))["applicants[0].siret"]
    other = luhn_complete("2000417620001")  # another structure's establishment
    assert "commence par le SIREN" in fields(dossier(siret=other))["applicants[0].siret"]


def test_shares_are_stated_for_all_or_none_and_make_100():
    d = dossier(share_percent=60)
    d["applicants"].append({**copy.deepcopy(d["applicants"][0]), "operational_contact": False, "share_percent": 30})
    assert "pas 100 %" in fields(d)["applicants"]
    d["applicants"][1]["share_percent"] = 40
    assert fields(d) == {}
    del d["applicants"][1]["share_percent"]
    assert "pour chaque structure ou pour aucune" in fields(d)["applicants"]
