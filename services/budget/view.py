"""The budget's read model: the envelope (by the domain's own evolve), the dossiers (the shared
lifecycle index, for département and theme) and one record per dossier that met the budget.

Like `aap_contract.lifecycle.DossierIndex`, the view evolves in place and returns itself; a fresh
`initial_view` replayed over the log gives the same figures (see the integration tests).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from aap_contract.entry import summary
from aap_contract.envelope import Event
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    ReservationRefused,
    ReservationsLapsed,
)
from aap_contract.lifecycle import INDEX_TYPES, DossierIndex, initial_index
from aap_contract.reading import SUMMARY_READING
from aap_platform.codec import decoder_with
from services.budget.domain import Envelope, Reservation, evolve_owned, owned

UNKNOWN = "inconnu"
# the event types the view acts on (the others are not decoded): the index's, the envelope's
TYPES = INDEX_TYPES | {t.__name__ for t in (CreditsReserved, ReservationRefused, CreditsCommitted, ReservationsLapsed)}
DECODE = decoder_with(SUMMARY_READING)          # a dossier is read as far as its summary needs


class Record(msgspec.Struct, frozen=True):
    dossier_id: str
    status: Literal["reserved", "committed", "lapsed", "refused"]
    amount_cents: int
    session: int
    legal_reference: str | None = None


class BudgetView:
    def __init__(self, envelope: Envelope) -> None:
        self.envelope = owned(envelope)          # its maps evolve in place (see evolve_owned)
        self.dossiers: DossierIndex = initial_index(summary)   # the dossier's summary, not its content
        self.records: dict[str, Record] = {}

    def evolve(self, event: Event) -> "BudgetView":
        self.dossiers = self.dossiers.evolve(event)
        if event.aggregate_type != "envelope":
            return self
        self.envelope = evolve_owned(self.envelope, event.data)
        d = event.data
        if isinstance(d, CreditsReserved):
            self.records[d.dossier_id] = Record(d.dossier_id, "reserved", d.amount_cents, d.session)
        elif isinstance(d, ReservationRefused):
            self.records[d.dossier_id] = Record(d.dossier_id, "refused", d.amount_cents, d.session)
        elif isinstance(d, CreditsCommitted):
            old = self.records.get(d.dossier_id)
            self.records[d.dossier_id] = Record(d.dossier_id, "committed", d.amount_cents,
                                                old.session if old else 0, d.legal_reference)
        elif isinstance(d, ReservationsLapsed):
            for lapse in d.lapses:
                old = self.records.get(lapse.dossier_id)
                self.records[lapse.dossier_id] = Record(lapse.dossier_id, "lapsed", lapse.amount_cents,
                                                        old.session if old else 0)
        return self


def initial_view(envelope: Envelope) -> BudgetView:
    return BudgetView(envelope)


def evolve_view(view: BudgetView, event: Event) -> BudgetView:
    return view.evolve(event)


def totals(envelope: Envelope) -> dict[str, int]:
    return {"envelope_cents": envelope.envelope_cents, "reserved_cents": envelope.reserved_cents,
            "committed_cents": envelope.committed_cents, "available_cents": envelope.available_cents}


def _split(view: BudgetView, key, keys: Iterable[str]) -> dict[str, dict[str, int]]:
    """Reserved and committed credits per group; envelope and availability are call-wide."""
    groups = {k: {"reserved_cents": 0, "committed_cents": 0, "granted_cents": 0} for k in keys}
    held: list[tuple[str, str, Reservation]] = [
        *(("reserved_cents", d, r) for d, r in view.envelope.reservations.items()),
        *(("committed_cents", d, r) for d, r in view.envelope.committed.items())]
    for kind, dossier_id, r in held:
        g = groups.setdefault(key(dossier_id, r), {"reserved_cents": 0, "committed_cents": 0, "granted_cents": 0})
        g[kind] += r.amount_cents
        g["granted_cents"] += r.amount_cents
    return groups


def figures(view: BudgetView, sessions: Iterable[str] = (), departements: Iterable[str] = (),
            themes: Iterable[str] = ()) -> dict:
    """GET /budget: the four totals, then the credits held split by session, département
    (the operational contact's) and sub-theme; the given keys are listed even when at zero."""
    entries = view.dossiers.entries

    def departement(dossier_id: str, _: Reservation) -> str:
        entry = entries.get(dossier_id)
        return entry.departement if entry else UNKNOWN

    def theme(dossier_id: str, _: Reservation) -> str:
        entry = entries.get(dossier_id)
        return entry.theme if entry else UNKNOWN

    return {**totals(view.envelope),
            "by_session": _split(view, lambda _, r: str(r.session), sessions),
            "by_departement": _split(view, departement, departements),
            "by_theme": _split(view, theme, themes)}
