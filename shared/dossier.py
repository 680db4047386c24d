"""The dossier as the applicants describe it (SPEC §3): the shape shared by intake's API,
the events that carry it and the eligibility rules that judge it."""
from __future__ import annotations

from typing import Literal

import msgspec

ExpenseCategory = Literal["service", "study", "training", "software", "other", "staff", "it_equipment"]
Section = Literal["situation", "method", "roadmap", "solution"]
EXPENSE_CATEGORIES: tuple[str, ...] = ExpenseCategory.__args__  # type: ignore[attr-defined]
SECTIONS: tuple[str, ...] = Section.__args__  # type: ignore[attr-defined]


class Contact(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    email: str
    phone: str | None = None


class Applicant(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    siren: str
    kind: str
    departement: str
    operational_contact: bool
    validated: bool
    resources_committed: bool
    contact: Contact


class Financing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    global_cost_cents: int
    requested_cents: int
    own_funding_cents: int
    other_funding_cents: int


class Expense(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    label: str
    category: ExpenseCategory
    amount_cents: int


class Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    filename: str
    sections: list[Section]


class Software(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    involved: bool
    free_software: bool


class Dossier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    track: str
    title: str
    summary: str
    theme: str
    applicants: list[Applicant]
    financing: Financing
    expenses: list[Expense]
    software: Software
    document: Document | None = None

    @property
    def sirens(self) -> list[str]:
        return [a.siren for a in self.applicants]


def siren_is_valid(siren: str) -> bool:
    """Nine digits with a valid Luhn checksum."""
    if len(siren) != 9 or not siren.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(siren)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
