"""Intake's read model: the shared dossier lifecycle index, counts by status, and queries.

Like `aap_contract.lifecycle.DossierIndex`, the view is updated in place by `evolve_view` (the
projection runner holds the only reference); queries are pure functions of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import msgspec

from aap_contract.config import CallConfig
from aap_contract.entry import DossierEntry
from aap_contract.envelope import Event
from aap_contract.events import ReservationsLapsed
from aap_contract.lifecycle import (
    INDEX_TYPES,
    STATUSES,
    DossierIndex,
    dossier_ids,
    evolve_index,
    initial_index,
)
from aap_platform.projection import Projection

TYPES = INDEX_TYPES  # the event types the view acts on (the others are not decoded)


class IntakeView:
    def __init__(self) -> None:
        self.index: DossierIndex = initial_index()
        self.counts: Counter[str] = Counter({s: 0 for s in STATUSES})

    def get(self, dossier_id: str) -> DossierEntry | None:
        return self.index.entries.get(dossier_id)


def initial_view() -> IntakeView:
    return IntakeView()


def evolve_view(view: IntakeView, event: Event) -> IntakeView:
    if type(event.data) is not ReservationsLapsed:  # one dossier at most: the common case
        old, new = view.index.change(event)
        if new is not old:
            counts = view.counts
            if old is not None:
                counts[old.status] -= 1
            if new is not None:
                counts[new.status] += 1
        return view
    ids = dossier_ids(event)
    before = [view.index.entries.get(i) for i in ids]
    evolve_index(view.index, event)
    for i, old in zip(ids, before):
        new = view.index.entries.get(i)
        if old is not None:
            view.counts[old.status] -= 1
        if new is not None:
            view.counts[new.status] += 1
    return view


class Filters(msgspec.Struct, frozen=True):
    status: str | None = None
    session: int | None = None
    departement: str | None = None
    theme: str | None = None  # a theme ("1") matches its sub-themes ("1.2")

    def match(self, e: DossierEntry) -> bool:
        theme = e.dossier.theme
        return (
            (self.status is None or e.status == self.status)
            and (self.session is None or e.session == self.session)
            and (self.departement is None or e.departement == self.departement)
            and (self.theme is None or theme == self.theme or theme.startswith(self.theme + "."))
        )


def select(
    view: IntakeView, filters: Filters, visible: Callable[[DossierEntry], bool], page: int, page_size: int
) -> tuple[list[DossierEntry], int]:
    """One page of the matching dossiers in submission order, and how many match in all."""
    found = [e for e in view.index.entries.values() if filters.match(e) and visible(e)]
    found.sort(key=lambda e: (e.submitted_at, e.dossier_id))
    start = (page - 1) * page_size
    return found[start : start + page_size], len(found)


def projection(call: CallConfig) -> Projection[IntakeView]:
    """The view as the service runs it: fed by the call's stream, only the types it acts on."""
    return Projection("intake-dossiers", initial_view, evolve_view, types=TYPES)
