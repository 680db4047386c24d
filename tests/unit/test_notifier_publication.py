"""The public list of lauréats, and its SCDL « subventions » file checked against the schema's rules."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from aap_contract.config import load_call
from aap_contract.events import CreditsCommitted
from services.notifier.publication import (
    SCDL_FIELDS,
    laureates,
    scdl_rows,
    shares,
    to_csv,
)
from tests.unit.test_notifier_history import at, session_one, view_of

CALL = load_call("hdf-itn7-axe3-2021")

# SCDL subventions 1.1 (schema.data.gouv.fr/scdl/subventions/1.1.0): fields in this order.
SCHEMA_FIELDS = [
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "objet",
    "montant",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "idRAE",
    "notificationUE",
    "pourcentageSubvention",
]
REQUIRED = set(SCHEMA_FIELDS) - {"referenceDecision", "idRAE"}
SIRET = re.compile(r"^\d{14}$")
PERIOD = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(/[0-9]{4}-[0-9]{2}-[0-9]{2})?$")
NATURES = {
    "aide en numéraire",
    "aide en nature",
    "aide en numéraire;aide en nature",
    "aide en nature;aide en numéraire",
}


def scdl_problems(text: str) -> list[str]:
    """Every breach of the SCDL subventions rules in a CSV file (empty: valid)."""
    reader = csv.DictReader(io.StringIO(text))
    problems = [] if reader.fieldnames == SCHEMA_FIELDS else [f"columns {reader.fieldnames}"]
    per_decision: dict[tuple[str, str, str], Decimal] = {}
    for i, row in enumerate(reader, start=2):

        def bad(field: str, why: str, i: int = i, row: dict = row) -> None:
            problems.append(f"line {i} {field}={row.get(field)!r}: {why}")

        for field in REQUIRED:
            if not row.get(field):
                bad(field, "required")
        for field in ("idAttribuant", "idBeneficiaire"):
            if not SIRET.match(row[field] or ""):
                bad(field, "SIRET: 14 digits")
        try:
            date.fromisoformat(row["dateConvention"])
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", row["dateConvention"]):
                raise ValueError
        except ValueError:
            bad("dateConvention", "YYYY-MM-DD")
        if not PERIOD.match(row["datesPeriodeVersement"]):
            bad("datesPeriodeVersement", "date or period")
        if not re.match(r"^\d+(\.\d+)?$", row["montant"]):
            bad("montant", "decimal number with '.'")
        if row["nature"] not in NATURES:
            bad("nature", "allowed values")
        if row["notificationUE"] not in ("oui", "non"):
            bad("notificationUE", "boolean oui/non")
        if len(row["objet"]) >= 256 or len(row["conditionsVersement"]) >= 256:
            bad("objet", "less than 256 characters")
        try:
            share = Decimal(row["pourcentageSubvention"])
        except InvalidOperation:
            bad("pourcentageSubvention", "number")
            continue
        if not Decimal(0) <= share <= Decimal(1) or "," in row["pourcentageSubvention"]:
            bad("pourcentageSubvention", "between 0 and 1")
        key = (row["referenceDecision"], row["objet"], row["montant"])
        per_decision[key] = per_decision.get(key, Decimal(0)) + share
    problems += [f"shares of {key} sum to {total}" for key, total in per_decision.items() if total != 1]
    return problems


def test_shares_sum_to_exactly_one():
    for n in range(1, 12):
        parts = shares(n)
        assert len(parts) == n and sum(parts) == 1 and all(0 < p <= 1 for p in parts)
    assert shares(3) == [Decimal("0.3334"), Decimal("0.3333"), Decimal("0.3333")]


def test_laureates_per_session_with_applicants_and_grants():
    listed = laureates(view_of(session_one()))["sessions"]["1"]
    assert [x["dossier_id"] for x in listed] == ["d-civil", "d-joint"]
    joint = listed[1]
    assert joint["granted_cents"] == 7_000_000 and joint["departement"] == "59" and joint["theme"] == "3.2"
    assert joint["applicants"][1] == {"name": "Commune de Rivecourt", "siren": "216000570"}


def test_scdl_file_one_row_per_beneficiary_and_valid():
    committed = CreditsCommitted(dossier_id="d-civil", amount_cents=4_500_000, legal_reference="EJ-2021-0042")
    text = to_csv(scdl_rows(view_of(session_one() + [(committed, at(6, 1, 9), None)]), CALL))
    assert scdl_problems(text) == []
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(SCDL_FIELDS) == SCHEMA_FIELDS
    assert [r["nomBeneficiaire"] for r in rows] == [
        "Commune de Valmont",
        "Communauté de communes du Val",
        "Commune de Rivecourt",
        "Commune d'Orval",
    ]
    civil, joint = rows[0], rows[1:]
    assert civil["montant"] == "45000.00" and civil["pourcentageSubvention"] == "1"
    assert civil["dateConvention"] == "2021-06-01" and civil["referenceDecision"] == "EJ-2021-0042"
    assert civil["idAttribuant"] == "13000550100010" and civil["idBeneficiaire"] == "21590350100017"
    assert {r["montant"] for r in joint} == {"70000.00"}
    assert sum(Decimal(r["pourcentageSubvention"]) for r in joint) == 1
    assert joint[0]["dateConvention"] == "2021-05-20"  # not committed yet: the decision


def test_the_validator_catches_breaches():
    good = to_csv(scdl_rows(view_of(session_one()), CALL))
    assert scdl_problems(good) == []
    broken = good.replace("20004176200014", "200041762").replace("0.3334", "0.5")
    assert len(scdl_problems(broken)) == 2
