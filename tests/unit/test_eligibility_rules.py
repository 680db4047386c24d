"""The eligibility rules (SPEC §5): each alone, all together, boundaries to the cent."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from aap_contract.config import load_call
from aap_contract.dossier import Applicant, Document, Dossier, Expense, Financing
from aap_contract.money import format_euros
from services.eligibility.rules import RULES, assess

CALL = load_call("hdf-itn7-axe3-2021")
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json"
replace = msgspec.structs.replace


def scenario() -> dict:
    return json.loads(SCENARIO.read_text(encoding="utf-8"))


def reference() -> Dossier:
    """OK-1 of the public scenario: eligible on every rule."""
    step = next(s for s in scenario()["steps"] if s.get("ref") == "OK-1")
    return msgspec.convert(step["dossier"], Dossier)


def codes(dossier: Dossier) -> list[str]:
    return [f.code for f in assess(dossier, CALL)]


def priced(global_cents: int, requested_cents: int, own_cents: int | None = None) -> Dossier:
    """The reference dossier at another price, its plan balanced (own funding = the rest)."""
    own = global_cents - requested_cents if own_cents is None else own_cents
    half = global_cents // 2
    return replace(
        reference(),
        financing=Financing(global_cents, requested_cents, max(own, 0), 0),
        expenses=[Expense("Prestation", "service", half), Expense("Formation", "training", global_cents - half)],
    )


def lead(d: Dossier, **changes) -> Dossier:
    return replace(d, applicants=[replace(d.applicants[0], **changes), *d.applicants[1:]])


def partner(d: Dossier, **changes) -> Dossier:
    second = Applicant(
        name="Commune de Rivecourt",
        siren="216000570",
        kind="commune",
        departement="60",
        operational_contact=False,
        validated=True,
        resources_committed=True,
        contact=d.applicants[0].contact,
    )
    return replace(d, applicants=[*d.applicants, replace(second, **changes)])


BREAKERS = {
    "APPLICANT_KIND": lambda d: lead(d, kind="syndicat"),
    "APPLICANT_TERRITORY": lambda d: lead(d, departement="76"),
    "JOINT_CONTACT": lambda d: partner(d, operational_contact=True),
    "JOINT_COMMITMENT": lambda d: partner(d, validated=False),
    "THEME": lambda d: replace(d, theme="4.1"),
    "OPERATING_BUDGET": lambda d: replace(
        d, expenses=[Expense("Achat de postes", "it_equipment", 4000000), *d.expenses[1:]]
    ),
    "COST_RANGE": lambda d: priced(10000000, 10000000),
    "FINANCING_PLAN": lambda d: replace(d, financing=replace(d.financing, own_funding_cents=1500001)),
    "FUNDING_RATE": lambda d: replace(
        d, financing=replace(d.financing, requested_cents=2999999, own_funding_cents=3000001)
    ),
    "DOCUMENT": lambda d: replace(d, document=None),
}


def test_reference_dossier_passes_every_rule():
    assert assess(reference(), CALL) == []


def test_every_rule_has_a_breaker():
    assert set(BREAKERS) == set(RULES)


@pytest.mark.parametrize("code", list(BREAKERS))
def test_each_rule_fails_alone(code):
    broken = BREAKERS[code](reference())
    failures = assess(broken, CALL)
    assert [f.code for f in failures] == [code]
    assert failures[0].message.endswith(".") and len(failures[0].message) > 20


def test_all_rules_fail_together_in_spec_order():
    d = reference()
    for code in ("APPLICANT_KIND", "APPLICANT_TERRITORY", "THEME", "OPERATING_BUDGET", "DOCUMENT"):
        d = BREAKERS[code](d)
    d = partner(d, operational_contact=True, resources_committed=False)
    d = replace(d, financing=Financing(10000000, 100000, 9000000, 0))  # cost, plan and rate
    assert codes(d) == list(RULES)


@pytest.mark.parametrize(
    "ref",
    [
        "OK-1",
        "KIND",
        "TERRITORY",
        "CONTACT",
        "COMMITMENT",
        "THEME",
        "OPERATING",
        "COST-LOW",
        "PLAN",
        "RATE",
        "DOC",
        "MANY",
    ],
)
def test_scenario_01_dossiers_give_the_expected_reasons(ref):
    data = scenario()
    step = next(s for s in data["steps"] if s.get("ref") == ref)
    expected = data["expect"]["dossiers"][ref]["reasons"]
    assert sorted(codes(msgspec.convert(step["dossier"], Dossier))) == expected


@pytest.mark.parametrize(
    "global_cents, fails", [(2500000, True), (2500001, False), (9999999, False), (10000000, True), (0, True)]
)
def test_cost_range_bounds_are_exclusive_to_the_cent(global_cents, fails):
    d = priced(global_cents, global_cents)
    assert codes(d) == (["COST_RANGE"] if fails else [])


@pytest.mark.parametrize(
    "global_cents, requested, fails",
    [
        (6000000, 3000000, False),  # exactly 50 %
        (6000000, 2999999, True),  # one cent under: 49.99…%
        (6000000, 6000000, False),  # exactly 100 %
        (5000001, 2500000, True),  # 50 % is 2 500 000.5 cents: 2 500 000 is under
        (5000001, 2500001, False),
    ],
)
def test_funding_rate_bounds_are_inclusive_to_the_cent(global_cents, requested, fails):
    assert codes(priced(global_cents, requested)) == (["FUNDING_RATE"] if fails else [])


def test_funding_rate_one_cent_over_the_global_cost_fails():
    d = priced(6000000, 6000001, own_cents=0)
    assert "FUNDING_RATE" in codes(d)  # the plan cannot balance either: requested > global cost
    assert "plus de 100 %" in next(f.message for f in assess(d, CALL) if f.code == "FUNDING_RATE")


def test_financing_plan_off_by_one_cent_on_the_expenses_fails():
    d = reference()
    d = replace(d, expenses=[replace(d.expenses[0], amount_cents=d.expenses[0].amount_cents - 1), *d.expenses[1:]])
    failure = assess(d, CALL)
    assert [f.code for f in failure] == ["FINANCING_PLAN"]
    assert format_euros(5999999) in failure[0].message


def test_financing_plan_names_the_funding_sum():
    failure = assess(BREAKERS["FINANCING_PLAN"](reference()), CALL)[0]
    assert format_euros(6000001) in failure.message and format_euros(6000000) in failure.message


def test_messages_name_the_applicants_with_their_siren():
    d = partner(lead(reference(), kind="syndicat"), kind="association", validated=False, resources_committed=False)
    by_code = {f.code: f.message for f in assess(d, CALL)}
    assert list(by_code) == ["APPLICANT_KIND", "JOINT_COMMITMENT"]
    kind = by_code["APPLICANT_KIND"]
    assert "Commune de Valmont-sur-Escaut" in kind and "215903501" in kind and "syndicat" in kind
    assert "Commune de Rivecourt" in kind and "216000570" in kind and "association" in kind
    assert "216000570" in by_code["JOINT_COMMITMENT"] and "215903501" not in by_code["JOINT_COMMITMENT"]


def test_operating_budget_names_the_expense_line_and_amount():
    message = assess(BREAKERS["OPERATING_BUDGET"](reference()), CALL)[0].message
    assert "Achat de postes" in message and format_euros(4000000) in message


def test_joint_contact_fails_with_none_and_with_two():
    assert codes(lead(reference(), operational_contact=False)) == ["JOINT_CONTACT"]
    assert codes(partner(reference(), operational_contact=True)) == ["JOINT_CONTACT"]
    assert codes(partner(reference())) == []


@pytest.mark.parametrize(
    "track, theme, fails",
    [
        ("standard", "1.3", False),
        ("standard", "3.5", False),
        ("innovation_lab", "4.2", False),
        ("standard", "4.1", True),
        ("innovation_lab", "1.1", True),
        ("standard", "9.9", True),
        ("standard", "1", True),
        ("standard", "1.9", True),
        ("autre", "1.3", True),
    ],
)
def test_theme_must_be_a_known_sub_theme_of_the_track(track, theme, fails):
    assert codes(replace(reference(), track=track, theme=theme)) == (["THEME"] if fails else [])


@pytest.mark.parametrize(
    "sections, involved, fails",
    [
        (["situation", "method", "roadmap", "solution"], True, False),
        (["situation", "method", "roadmap"], False, False),
        (["situation", "method", "roadmap"], True, True),
        (["situation", "roadmap", "solution"], True, True),
        ([], False, True),
    ],
)
def test_document_sections(sections, involved, fails):
    d = replace(
        reference(),
        document=Document("projet.pdf", sections),
        software=replace(reference().software, involved=involved),
    )
    assert codes(d) == (["DOCUMENT"] if fails else [])


def test_rules_follow_the_call_configuration_not_the_code():
    other = replace(
        CALL,
        eligibility=replace(
            CALL.eligibility, applicant_kinds=["syndicat"], cost_max_exclusive_cents=5000000, rate_min_percent=80
        ),
    )
    failing = [f.code for f in assess(lead(reference(), kind="syndicat"), other)]
    assert failing == ["COST_RANGE", "FUNDING_RATE"]


def test_messages_name_codes_in_french_words():
    """Kinds, départements and expense categories as a person reads them (issue 17)."""
    other = lead(reference(), kind="association", departement="76")
    by_code = {f.code: f.message for f in assess(other, CALL)}
    assert "de nature « association »" in by_code["APPLICANT_KIND"]
    assert "établissement public de coopération intercommunale (EPCI)" in by_code["APPLICANT_KIND"]
    assert "Seine-Maritime (76)" in by_code["APPLICANT_TERRITORY"] and "Aisne (02)" in by_code["APPLICANT_TERRITORY"]
    d = reference()
    equipment = msgspec.structs.replace(
        d, expenses=[Expense("Achat de postes informatiques", "it_equipment", d.financing.global_cost_cents)]
    )
    message = {f.code: f.message for f in assess(equipment, CALL)}["OPERATING_BUDGET"]
    assert "investissement" in message and "fonctionnement" not in message
