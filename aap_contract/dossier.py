"""The dossier as the applicants describe it (SPEC §3): the shape shared by intake's API,
the events that carry it and the eligibility rules that judge it.

Validate at the edge, trust the log: a field's constraints (patterns, lengths, bounds) are
written beside it as a `aap_contract.checks.Check`, which msgspec ignores when it decodes these
types; input validation (`aap_platform.validation.parse`) judges a request body against their
checked mirror, so a dossier read back from the log is not judged again."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from aap_contract.checks import Check

ExpenseCategory = Literal["service", "study", "training", "software", "other", "staff", "it_equipment"]
Section = Literal["situation", "method", "roadmap", "solution"]
EXPENSE_CATEGORIES: tuple[str, ...] = ExpenseCategory.__args__  # type: ignore[attr-defined]
SECTIONS: tuple[str, ...] = Section.__args__  # type: ignore[attr-defined]

Cents = Annotated[int, Check(ge=0, le=10**13, description="euro cents")]
Text = Annotated[str, Check(min_length=1, max_length=5000)]
Name = Annotated[str, Check(min_length=1, max_length=300)]
Code = Annotated[str, Check(min_length=1, max_length=100)]  # a kind, a département, a theme, a track
# Patterns are anchored with \A and \Z: `$` would also match before a final newline.
# An address is letters (accented too), digits and . _ % + - before the @, a dotted domain
# after: no `;`,
# `:`, `,`, space, quote or line break — nothing a mail header would read as a second address.
Email = Annotated[
    str,
    Check(pattern=r"\A[\w.%+-]+@[\w-]+(\.[\w-]+)*\.[^\W\d_]{2,63}\Z", max_length=254),
]
Phone = Annotated[str, Check(pattern=r"\A[0-9+(). -]{1,30}\Z")]
Siren = Annotated[str, Check(pattern=r"\A[0-9]{9}\Z", description="9 digits, Luhn checksum")]
Siret = Annotated[str, Check(pattern=r"\A[0-9]{14}\Z", description="14 digits: SIREN + NIC, Luhn checksum")]
MAX_EXPENSES = 200
Rna = Annotated[str, Check(pattern=r"\AW[0-9]{9}\Z", description="RNA number: W and 9 digits")]
Share = Annotated[int, Check(ge=1, le=100, description="percent of the grant paid to this structure")]


class Contact(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    name: Name
    email: Email
    phone: Phone | None = None


class Applicant(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    name: Name
    siren: Siren
    kind: Code
    departement: Code
    operational_contact: bool
    validated: bool
    resources_committed: bool
    contact: Contact
    siret: Siret | None = None  # the establishment, for the open-data list of subsidies
    rna: Rna | None = None  # an association's RNA number (open-data list)
    share_percent: Share | None = None  # its share of the grant, when the dossier states the split


class Financing(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    global_cost_cents: Cents
    requested_cents: Cents
    own_funding_cents: Cents
    other_funding_cents: Cents


class Expense(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    label: Annotated[str, Check(min_length=1, max_length=500)]
    category: ExpenseCategory
    amount_cents: Cents


class Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    filename: Annotated[str, Check(min_length=1, max_length=255)]
    sections: Annotated[list[Section], Check(max_length=len(SECTIONS))]


class Software(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    involved: bool
    free_software: bool


class Dossier(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    track: Code
    title: Annotated[str, Check(min_length=1, max_length=300)]
    summary: Text
    theme: Code
    applicants: Annotated[list[Applicant], Check(min_length=1, max_length=50)]
    financing: Financing
    expenses: Annotated[list[Expense], Check(max_length=MAX_EXPENSES)]
    software: Software
    document: Document | None = None

    @property
    def sirens(self) -> list[str]:
        return [a.siren for a in self.applicants]


def siren_is_valid(siren: str) -> bool:
    """Nine digits with a valid Luhn checksum."""
    return len(siren) == 9 and _luhn(siren)


def siret_is_valid(siret: str) -> bool:
    """Fourteen digits with a valid Luhn checksum (La Poste's establishments, SIREN 356000000,
    follow another rule: the sum of the digits is a multiple of 5)."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith("356000000") and siret != "35600000000048":
        return sum(int(c) for c in siret) % 5 == 0
    return _luhn(siret)


def _luhn(digits: str) -> bool:
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
