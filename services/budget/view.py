"""The budget's read model: the envelope (folded by the domain's own `evolve`), the dossiers
(the lifecycle index, for département and theme) and one record per dossier that met the budget.

`evolve_view` updates the view in place and returns it (the projection runner holds the only
reference); a fresh `initial_view` replayed over the log gives the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from aap_contract.config import Budget, CallConfig
from aap_contract.entry import summary
from aap_contract.envelope import Event
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    ReservationRefused,
    ReservationsLapsed,
)
from aap_contract.lifecycle import INDEX_TYPES, DossierIndex, evolve_index, initial_index
from aap_contract.reading import SUMMARY_READING
from aap_platform.codec import decoder_with
from aap_platform.projection import Projection
from services.budget import domain
from services.budget.domain import Envelope, Reservation

UNKNOWN = "inconnu"
# the event types the view acts on (the others are not decoded): the index's, the envelope's
TYPES = INDEX_TYPES | {t.__name__ for t in (CreditsReserved, ReservationRefused, CreditsCommitted, ReservationsLapsed)}
DECODE = decoder_with(SUMMARY_READING)  # a dossier is read as far as its summary needs


class Record(msgspec.Struct, frozen=True):
    dossier_id: str
    status: Literal["reserved", "committed", "lapsed", "refused"]
    amount_cents: int
    session: int
    legal_reference: str | None = None


class BudgetView:
    def __init__(self, budget: Budget) -> None:
        self.envelope: Envelope = domain.initial_state(budget)
        self.dossiers: DossierIndex = initial_index(summary)  # the dossier's summary, not its content
        self.records: dict[str, Record] = {}


def initial_view(budget: Budget) -> BudgetView:
    return BudgetView(budget)


def evolve_view(view: BudgetView, event: Event) -> BudgetView:
    evolve_index(view.dossiers, event)
    if event.aggregate_type != "envelope":
        return view
    domain.evolve(view.envelope, event)
    d, records = event.data, view.records
    if isinstance(d, CreditsReserved):
        records[d.dossier_id] = Record(d.dossier_id, "reserved", d.amount_cents, d.session)
    elif isinstance(d, ReservationRefused):
        records[d.dossier_id] = Record(d.dossier_id, "refused", d.amount_cents, d.session)
    elif isinstance(d, CreditsCommitted):
        old = records.get(d.dossier_id)
        records[d.dossier_id] = Record(
            d.dossier_id, "committed", d.amount_cents, old.session if old else 0, d.legal_reference
        )
    elif isinstance(d, ReservationsLapsed):
        for lapse in d.lapses:
            old = records.get(lapse.dossier_id)
            records[lapse.dossier_id] = Record(
                lapse.dossier_id, "lapsed", lapse.amount_cents, old.session if old else 0
            )
    return view


def totals(envelope: Envelope) -> dict[str, int]:
    return {
        "envelope_cents": envelope.envelope_cents,
        "reserved_cents": envelope.reserved_cents,
        "committed_cents": envelope.committed_cents,
        "available_cents": envelope.available_cents,
    }


def _split(view: BudgetView, key, keys: Iterable[str]) -> dict[str, dict[str, int]]:
    """Reserved and committed credits per group; envelope and availability are call-wide."""
    groups = {k: {"reserved_cents": 0, "committed_cents": 0, "granted_cents": 0} for k in keys}
    held: list[tuple[str, str, Reservation]] = [
        *(("reserved_cents", d, r) for d, r in view.envelope.reservations.items()),
        *(("committed_cents", d, r) for d, r in view.envelope.committed.items()),
    ]
    for kind, dossier_id, r in held:
        g = groups.setdefault(key(dossier_id, r), {"reserved_cents": 0, "committed_cents": 0, "granted_cents": 0})
        g[kind] += r.amount_cents
        g["granted_cents"] += r.amount_cents
    return groups


def figures(
    view: BudgetView, sessions: Iterable[str] = (), departements: Iterable[str] = (), themes: Iterable[str] = ()
) -> dict:
    """GET /budget: the four totals, then the credits held split by session, département
    (the operational contact's) and sub-theme; the given keys are listed even when at zero."""
    entries = view.dossiers.entries

    def departement(dossier_id: str, _: Reservation) -> str:
        entry = entries.get(dossier_id)
        return entry.departement if entry else UNKNOWN

    def theme(dossier_id: str, _: Reservation) -> str:
        entry = entries.get(dossier_id)
        return entry.theme if entry else UNKNOWN

    return {
        **totals(view.envelope),
        "by_session": _split(view, lambda _, r: str(r.session), sessions),
        "by_departement": _split(view, departement, departements),
        "by_theme": _split(view, theme, themes),
    }


def projection(call: CallConfig) -> Projection[BudgetView]:
    """The view as the service runs it: fed by the call's stream, only the types it acts on."""
    return Projection("budget", lambda: initial_view(call.budget), evolve_view, types=TYPES, decode=DECODE)
