"""The envelope aggregate (one per call, id = call id): the only authority on money (SPEC §7).

A pure decider: `initial_state` starts the envelope, `evolve(state, event)` applies a recorded
fact without checking it, `decide(command, state, context)` returns the one event to record
(None: nothing to do) or raises a `Refusal`. `evolve` updates the state it is given in place and
returns it (a replay is linear, not quadratic): start each fold from a fresh `initial_state`.
The committee's view and the budget's own view fold with this same `evolve`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from aap_contract.config import Budget
from aap_contract.envelope import Event
from aap_contract.events import (
    BeneficiaryIdentified,
    CreditsCommitted,
    CreditsReserved,
    EventData,
    Lapse,
    ReservationRefused,
    ReservationsLapsed,
)
from aap_contract.refusal import Refusal


class Reservation(msgspec.Struct, frozen=True):
    amount_cents: int
    session: int
    selection_event_id: str


class Envelope(msgspec.Struct):
    """Not frozen: `evolve` updates it in place (see the module's docstring)."""

    envelope_cents: int
    deadline: datetime
    reservations: dict[str, Reservation] = msgspec.field(default_factory=dict)  # outstanding, by dossier
    committed: dict[str, Reservation] = msgspec.field(default_factory=dict)  # by dossier (amount committed)
    answered: set[str] = msgspec.field(default_factory=set)  # selection event ids already answered
    lapsed: bool = False  # the deadline lapse has been recorded

    @property
    def reserved_cents(self) -> int:
        return sum(r.amount_cents for r in self.reservations.values())

    @property
    def committed_cents(self) -> int:
        return sum(r.amount_cents for r in self.committed.values())

    @property
    def available_cents(self) -> int:
        return self.envelope_cents - self.reserved_cents - self.committed_cents


# --- commands ----------------------------------------------------------------------------


class Reserve(msgspec.Struct, frozen=True):
    dossier_id: str
    session: int
    selection_event_id: str
    amount_cents: int


class Commit(msgspec.Struct, frozen=True):
    dossier_id: str
    legal_reference: str


class LapseAt(msgspec.Struct, frozen=True):
    """Lapse every reservation still uncommitted, once the context's instant is past the deadline."""


class Identify(msgspec.Struct, frozen=True):
    """Complete the SIRET (or RNA) of one structure of a committed grant (the open-data list)."""

    dossier_id: str
    siren: str
    siret: str | None = None
    rna: str | None = None


Command = Reserve | Commit | LapseAt | Identify


@dataclass(frozen=True)
class Context:
    """What a decision needs beyond the envelope's own events."""

    now: datetime
    dossier_known: bool = True  # the dossier is known to the budget's view of dossiers
    title: str = ""  # the dossier's title, for the messages people read
    sirens: tuple[str, ...] = ()  # the dossier's structures

    def named(self, dossier_id: str) -> str:
        return f"« {self.title} »" if self.title else dossier_id


def initial_state(budget: Budget) -> Envelope:
    return Envelope(envelope_cents=budget.envelope_cents, deadline=budget.commitment_deadline)


def evolve(s: Envelope, event: Event[Any]) -> Envelope:
    data = event.data
    if isinstance(data, CreditsReserved):
        s.reservations[data.dossier_id] = Reservation(data.amount_cents, data.session, data.selection_event_id)
        s.answered.add(data.selection_event_id)
    elif isinstance(data, ReservationRefused):
        s.answered.add(data.selection_event_id)
    elif isinstance(data, CreditsCommitted):
        held = s.reservations.pop(data.dossier_id, None)
        s.committed[data.dossier_id] = Reservation(
            data.amount_cents, held.session if held else 0, held.selection_event_id if held else ""
        )
    elif isinstance(data, ReservationsLapsed):
        for lapse in data.lapses:
            s.reservations.pop(lapse.dossier_id, None)
        s.lapsed = True
    return s


def answers(command: Command, data: EventData) -> bool:
    """Whether a recorded fact is the one this command records (a commitment retried with its
    idempotency key is answered with it; another commitment under the same key is refused)."""
    if isinstance(command, Commit):
        return isinstance(data, CreditsCommitted) and (data.dossier_id, data.legal_reference) == (
            command.dossier_id,
            command.legal_reference,
        )
    return False


def decide(command: Command, state: Envelope, context: Context) -> EventData | None:
    if isinstance(command, Reserve):
        return _reserve(command, state)
    if isinstance(command, Commit):
        return _commit(command, state, context)
    if isinstance(command, Identify):
        return _identify(command, state, context)
    return _lapse(context.now, state)


def past_deadline(now: datetime, deadline: datetime) -> bool:
    """Deadlines are to the second: the whole deadline second is still allowed."""
    return now.replace(microsecond=0) > deadline


def _reserve(c: Reserve, s: Envelope) -> EventData | None:
    if c.selection_event_id in s.answered:
        return None  # a redelivered selection: already answered
    if c.dossier_id in s.reservations or c.dossier_id in s.committed:
        # A second selection of a dossier that already holds credits replaces nothing; it is
        # ignored rather than refused, since a ReservationRefused would mark the dossier
        # `selection_unfunded` while it is in fact funded.
        return None
    available = s.available_cents
    if c.amount_cents > available:
        return ReservationRefused(
            dossier_id=c.dossier_id,
            session=c.session,
            selection_event_id=c.selection_event_id,
            amount_cents=c.amount_cents,
            available_cents=available,
        )
    return CreditsReserved(
        dossier_id=c.dossier_id, session=c.session, selection_event_id=c.selection_event_id, amount_cents=c.amount_cents
    )


def _commit(c: Commit, s: Envelope, context: Context) -> EventData:
    if not context.dossier_known:
        raise Refusal("UNKNOWN_DOSSIER", f"Le dossier {c.dossier_id} est inconnu.")
    named = context.named(c.dossier_id)
    if past_deadline(context.now, s.deadline):
        raise Refusal(
            "COMMITMENT_DEADLINE",
            f"La date limite d'engagement des crédits ({s.deadline.strftime('%d/%m/%Y %H:%M:%S')}) est dépassée.",
        )
    reservation = s.reservations.get(c.dossier_id)
    if reservation is None:
        raise Refusal(
            "NOT_SELECTED",
            f"Le dossier {named} ne détient aucune réservation de crédits "
            "à engager (non retenu, déjà engagé ou réservation caduque).",
        )
    return CreditsCommitted(
        dossier_id=c.dossier_id, amount_cents=reservation.amount_cents, legal_reference=c.legal_reference
    )


def _identify(c: Identify, s: Envelope, context: Context) -> EventData:
    if not context.dossier_known:
        raise Refusal("UNKNOWN_DOSSIER", f"Le dossier {c.dossier_id} est inconnu.")
    named = context.named(c.dossier_id)
    if c.dossier_id not in s.committed:
        raise Refusal(
            "NOT_COMMITTED",
            f"La subvention du dossier {named} n'est pas engagée : son bénéficiaire se complète après l'engagement.",
        )
    if c.siren not in context.sirens:
        raise Refusal("NOT_A_BENEFICIARY", f"Aucune structure du dossier {named} n'a le SIREN {c.siren}.")
    return BeneficiaryIdentified(dossier_id=c.dossier_id, siren=c.siren, siret=c.siret, rna=c.rna)


def _lapse(now: datetime, s: Envelope) -> EventData | None:
    # Once: after the lapse no reservation is outstanding, so a later tick finds nothing.
    if not past_deadline(now, s.deadline) or not s.reservations:
        return None
    lapses = [Lapse(dossier_id=d, amount_cents=r.amount_cents) for d, r in sorted(s.reservations.items())]
    return ReservationsLapsed(deadline=s.deadline, lapses=lapses)
