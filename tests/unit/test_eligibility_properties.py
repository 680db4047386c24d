"""Properties of the eligibility rules, over generated dossiers (hypothesis)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from aap_contract.config import load_call
from aap_contract.dossier import (
    EXPENSE_CATEGORIES,
    SECTIONS,
    Applicant,
    Contact,
    Document,
    Dossier,
    Expense,
    Financing,
    Software,
)
from services.eligibility.rules import RULES, assess

CALL = load_call("hdf-itn7-axe3-2021")
E = CALL.eligibility
SIRENS = ["215903501", "216000570", "245900410", "218000214", "225900018", "200041697"]
CONTACT = Contact(name="Responsable numérique", email="numerique@example.fr")
cents = st.integers(min_value=0, max_value=2 * E.cost_max_exclusive_cents)


def applicant(i: int, kind: str, dep: str, contact: bool, validated: bool, committed: bool) -> Applicant:
    return Applicant(
        name=f"Collectivité {i}",
        siren=SIRENS[i % len(SIRENS)],
        kind=kind,
        departement=dep,
        operational_contact=contact,
        validated=validated,
        resources_committed=committed,
        contact=CONTACT,
    )


@st.composite
def any_dossier(draw) -> Dossier:
    """Anything the intake could accept: each rule may pass or fail."""
    kinds = st.sampled_from([*E.applicant_kinds, "syndicat", "association"])
    deps = st.sampled_from([*CALL.departements, "75", "76"])
    n = draw(st.integers(1, 4))
    applicants = [
        applicant(i, draw(kinds), draw(deps), draw(st.booleans()), draw(st.booleans()), draw(st.booleans()))
        for i in range(n)
    ]
    expenses = draw(
        st.lists(
            st.builds(
                Expense,
                st.sampled_from(["Prestation", "Formation", "Licences"]),
                st.sampled_from(EXPENSE_CATEGORIES),
                cents,
            ),
            max_size=5,
        )
    )
    sections = draw(st.lists(st.sampled_from(SECTIONS), unique=True))
    document = draw(st.one_of(st.none(), st.just(Document("projet.pdf", sections))))
    return Dossier(
        track=draw(st.sampled_from([*CALL.tracks, "autre"])),
        title="Projet",
        summary="Résumé",
        theme=draw(st.sampled_from([*CALL.themes, "9.9", "1.9"])),
        applicants=applicants,
        financing=Financing(draw(cents), draw(cents), draw(cents), draw(cents)),
        expenses=expenses,
        software=Software(draw(st.booleans()), draw(st.booleans())),
        document=document,
    )


def split(draw, total: int, parts: int) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=parts - 1, max_size=parts - 1)))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total])]


@st.composite
def valid_dossier(draw) -> Dossier:
    """A dossier built to pass every rule."""
    n = draw(st.integers(1, 5))
    lead = draw(st.integers(0, n - 1))
    applicants = [
        applicant(
            i,
            draw(st.sampled_from(E.applicant_kinds)),
            draw(st.sampled_from(sorted(CALL.departements))),
            i == lead,
            True,
            True,
        )
        for i in range(n)
    ]
    cost = draw(st.integers(E.cost_min_exclusive_cents + 1, E.cost_max_exclusive_cents - 1))
    requested = draw(st.integers(-(-E.rate_min_percent * cost // 100), E.rate_max_percent * cost // 100))
    own, other = split(draw, cost - requested, 2)
    funded = [c for c in EXPENSE_CATEGORIES if c not in E.excluded_expense_categories]
    amounts = split(draw, cost, draw(st.integers(1, 6)))
    expenses = [Expense(f"Ligne {i}", draw(st.sampled_from(funded)), a) for i, a in enumerate(amounts)]
    track = draw(st.sampled_from(sorted(CALL.tracks)))
    theme = draw(st.sampled_from([t for t in CALL.themes if "." in t and t.split(".")[0] in CALL.tracks[track]]))
    involved = draw(st.booleans())
    sections = [*E.required_sections, *([E.software_section] if involved else [])]
    return Dossier(
        track=track,
        title="Projet",
        summary="Résumé",
        theme=theme,
        applicants=applicants,
        financing=Financing(cost, requested, own, other),
        expenses=expenses,
        software=Software(involved, draw(st.booleans())),
        document=Document("projet.pdf", sections),
    )


@given(global_cents=st.integers(1, 10**11), data=st.data())
def test_funding_rate_verdict_is_the_exact_rational_comparison(global_cents, data):
    requested = data.draw(st.integers(0, 2 * global_cents))
    d = data.draw(valid_dossier())
    d = replace(d, financing=Financing(global_cents, requested, 0, 0))
    within = Fraction(E.rate_min_percent, 100) <= Fraction(requested, global_cents) <= Fraction(E.rate_max_percent, 100)
    assert ("FUNDING_RATE" in [f.code for f in assess(d, CALL)]) == (not within)


@settings(max_examples=200)
@given(any_dossier())
def test_failures_are_unique_in_spec_order_and_explained(d):
    failures = assess(d, CALL)
    found = [f.code for f in failures]
    assert found == [c for c in RULES if c in found]  # no duplicate, table order
    assert all(f.message.strip() for f in failures)


@given(valid_dossier(), st.randoms(use_true_random=False))
def test_a_valid_dossier_stays_valid_under_permutation(d, rnd):
    assert assess(d, CALL) == []
    applicants, expenses = list(d.applicants), list(d.expenses)
    rnd.shuffle(applicants)
    rnd.shuffle(expenses)
    shuffled = replace(d, applicants=applicants, expenses=expenses)
    assert assess(shuffled, CALL) == []


@given(any_dossier(), st.randoms(use_true_random=False))
def test_verdict_does_not_depend_on_the_order_of_applicants_or_expenses(d, rnd):
    applicants, expenses = list(d.applicants), list(d.expenses)
    rnd.shuffle(applicants)
    rnd.shuffle(expenses)
    shuffled = replace(d, applicants=applicants, expenses=expenses)
    assert [f.code for f in assess(shuffled, CALL)] == [f.code for f in assess(d, CALL)]
