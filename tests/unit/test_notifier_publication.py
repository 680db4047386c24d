"""The public list of lauréats, and its SCDL « subventions » 2.1.1 file validated as validata.fr
does: frictionless against the official schema (tests/unit/scdl/schema.json), plus its custom checks."""

from __future__ import annotations

import csv
import io

import msgspec

from aap_contract.config import load_call
from aap_contract.events import BeneficiaryIdentified, CreditsCommitted, Lapse, ReservationsLapsed
from services.notifier.publication import (
    SCDL_FIELDS,
    incomplete,
    laureates,
    neutralised,
    scdl_rows,
    to_csv,
)
from tests.unit.scdl.validate import SCHEMA_JSON, report
from tests.unit.test_notifier_history import DOSSIERS, applicant, at, dossier, session_one, view_of

CALL = load_call("hdf-itn7-axe3-2021")
COMMIT_CIVIL = (CreditsCommitted("d-civil", 4_500_000, "EJ-2021-0042"), at(6, 1, 9), None)
COMMIT_JOINT = (CreditsCommitted("d-joint", 7_000_000, "EJ-2021-0043"), at(6, 2, 9), None)


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_columns_are_the_schemas_sixteen_in_order():
    assert list(SCDL_FIELDS) == [f["name"] for f in SCHEMA_JSON["fields"]]
    assert len(SCDL_FIELDS) == 16 and SCHEMA_JSON["version"] == "2.1.1"


def test_laureates_per_session_with_applicants_and_grants():
    listed = laureates(view_of(session_one()))["sessions"]["1"]
    assert [x["dossier_id"] for x in listed] == ["d-civil", "d-joint"]
    joint = listed[1]
    assert joint["granted_cents"] == 7_000_000 and joint["departement"] == "59" and joint["theme"] == "3.2"
    assert joint["applicants"][1] == {"name": "Commune de Rivecourt", "siren": "216000570"}


def test_a_lapsed_grant_leaves_the_list_and_the_file():
    lapse = ReservationsLapsed(deadline=CALL.budget.commitment_deadline, lapses=[Lapse("d-joint", 7_000_000)])
    view = view_of(session_one() + [COMMIT_CIVIL, (lapse, at(12, 31, 23), None)])
    assert [x["dossier_id"] for x in laureates(view)["sessions"]["1"]] == ["d-civil"]
    assert [r["objet"] for r in scdl_rows(view, CALL)] == ["Dématérialisation de l'état civil"]


def test_only_committed_grants_are_conventions_in_the_file_and_it_is_valid():
    view = view_of(session_one() + [COMMIT_CIVIL])
    text = to_csv(scdl_rows(view, CALL))
    assert report(text.encode()) == []
    [civil] = rows_of(text)  # the joint grant is reserved, not committed: no convention yet
    assert civil["montant"] == "45000.00" and civil["pourcentageSubvention"] == "1.00"
    assert civil["dateConvention"] == "2021-06-01" and civil["referenceDecision"] == "EJ-2021-0042"
    assert civil["idAttribuant"] == "13002612300013" and civil["idBeneficiaire"] == "21590350100017"
    assert civil["datesPeriodeVersement"] == "2021-07-01/2022-12-31" and civil["rnaBeneficiaire"] == ""


def test_a_joint_dossier_without_stated_shares_is_one_row_for_its_lead():
    text = to_csv(scdl_rows(view_of(session_one() + [COMMIT_JOINT]), CALL))
    assert report(text.encode()) == []
    [joint] = rows_of(text)
    assert joint["nomBeneficiaire"] == "Communauté de communes du Val" and joint["pourcentageSubvention"] == "1.00"


def test_stated_shares_give_one_row_per_structure():
    shared = msgspec.structs.replace(
        DOSSIERS["d-joint"],
        applicants=[
            msgspec.structs.replace(a, share_percent=p) for a, p in zip(DOSSIERS["d-joint"].applicants, (60, 25, 15))
        ],
    )
    items = session_one()
    items = [
        (msgspec.structs.replace(d, dossier=shared), t, i)
        if getattr(d, "dossier_id", "") == "d-joint" and hasattr(d, "dossier")
        else (d, t, i)
        for d, t, i in items
    ]
    text = to_csv(scdl_rows(view_of(items + [COMMIT_JOINT]), CALL))
    assert report(text.encode()) == []
    assert [(r["idBeneficiaire"], r["pourcentageSubvention"]) for r in rows_of(text)] == [
        ("20004176200010", "0.60"),
        ("21600057000012", "0.25"),
        ("21600465500017", "0.15"),
    ]


def test_a_grant_without_siret_or_rna_is_listed_incomplete_until_an_operator_completes_it():
    no_siret = dossier("Tiers-lieu numérique", applicant("Commune de Fresnoy", "215902545", "c@fresnoy.example.fr"))
    items = [
        (d, t, i) for d, t, i in session_one() if getattr(d, "dossier_id", "") != "d-civil" or not hasattr(d, "dossier")
    ]
    items.insert(
        0, (type(session_one()[0][0])(dossier_id="d-civil", dossier=no_siret, session=1), at(4, 21), "sub-d-civil")
    )
    view = view_of(items + [COMMIT_CIVIL])
    assert scdl_rows(view, CALL) == []
    [item] = incomplete(view, CALL)
    assert item["dossier_id"] == "d-civil" and item["missing"] == [{"name": "Commune de Fresnoy", "siren": "215902545"}]
    assert "ni SIRET ni numéro RNA" in item["reasons"][0]
    done = BeneficiaryIdentified(dossier_id="d-civil", siren="215902545", siret="21590254500015")
    view = view_of(items + [COMMIT_CIVIL, (done, at(6, 3), None)])
    assert incomplete(view, CALL) == []
    text = to_csv(scdl_rows(view, CALL), bom=True)
    assert text.startswith("\ufeffnomAttribuant,") and report(text.encode()) == []
    assert rows_of(text)[0]["idBeneficiaire"] == "21590254500015"


def test_the_validator_catches_breaches():
    good = to_csv(scdl_rows(view_of(session_one() + [COMMIT_CIVIL]), CALL))
    assert report(good.encode()) == []
    bad_siret = good.replace("21590350100017", "21590350100018")
    assert [p.split(":")[0] for p in report(bad_siret.encode())] == ["french-siret-value"]
    no_id = good.replace("21590350100017", "")
    assert [p.split(":")[0] for p in report(no_id.encode())] == ["one-of-required"]
    old_header = good.replace(",rnaBeneficiaire", "").replace(",dispositifAide", "")
    assert report(old_header.encode())  # the 14 columns of 1.x are refused at the header


def test_cells_that_a_spreadsheet_would_run_are_neutralised():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralised(start + "HYPERLINK(x)") == "'" + start + "HYPERLINK(x)"
    assert neutralised("Portail citoyen") == "Portail citoyen"
    evil = dossier(
        '=HYPERLINK("http://x")', applicant("Commune de Valmont", "215903501", "a@b.fr", siret="21590350100017")
    )
    items = [
        (
            msgspec.structs.replace(d, dossier=evil)
            if getattr(d, "dossier_id", "") == "d-civil" and hasattr(d, "dossier")
            else d,
            t,
            i,
        )
        for d, t, i in session_one()
    ]
    [row] = scdl_rows(view_of(items + [COMMIT_CIVIL]), CALL)
    assert row["objet"].startswith("'=")


def test_the_decision_referenced_is_the_arrete_once_issued():
    from aap_contract.events import OfficialDocumentIssued

    arrete = OfficialDocumentIssued("s1-arrete-d-civil", "d-civil", 1, "arrete", "SGAR-2021-S1-001", "0" * 64, 10, "x")
    view = view_of(session_one() + [COMMIT_CIVIL, (arrete, at(5, 21), None)])
    [row] = scdl_rows(view, CALL)
    assert row["referenceDecision"] == "SGAR-2021-S1-001"
    assert report(to_csv([row]).encode()) == []
