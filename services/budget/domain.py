"""The envelope aggregate (one per call, id = call id): the only authority on money (SPEC §7).

A pure decider: `decide(command, state)` returns the one event to record (or None: nothing
to do) or raises a `Refusal`; `evolve(state, event_data)` applies a fact without checking it.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import reduce

import msgspec

from aap_contract.config import Budget
from aap_contract.events import (
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


class Envelope(msgspec.Struct, frozen=True):
    envelope_cents: int
    deadline: datetime
    reservations: dict[str, Reservation] = {}     # outstanding, by dossier
    committed: dict[str, Reservation] = {}        # by dossier (amount = what was committed)
    answered: frozenset[str] = frozenset()        # selection event ids already answered
    lapsed: bool = False                          # the deadline lapse has been recorded

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
    now: datetime
    dossier_known: bool          # known to the budget's view of dossiers


class LapseAt(msgspec.Struct, frozen=True):
    now: datetime


Command = Reserve | Commit | LapseAt


def initial_state(budget: Budget) -> Envelope:
    return Envelope(envelope_cents=budget.envelope_cents, deadline=budget.commitment_deadline)


def past_deadline(now: datetime, deadline: datetime) -> bool:
    """Deadlines are to the second: the whole deadline second is still allowed."""
    return now.replace(microsecond=0) > deadline


def decide(command: Command, state: Envelope) -> EventData | None:
    if isinstance(command, Reserve):
        return _reserve(command, state)
    if isinstance(command, Commit):
        return _commit(command, state)
    if isinstance(command, LapseAt):
        return _lapse(command, state)
    raise TypeError(f"unknown command {command!r}")


def _reserve(c: Reserve, s: Envelope) -> EventData | None:
    if c.selection_event_id in s.answered:
        return None                                    # a redelivered selection: already answered
    if c.dossier_id in s.reservations or c.dossier_id in s.committed:
        # A second selection of a dossier that already holds credits replaces nothing; it is
        # ignored rather than refused, since a ReservationRefused would mark the dossier
        # `selection_unfunded` while it is in fact funded.
        return None
    available = s.available_cents
    if c.amount_cents > available:
        return ReservationRefused(dossier_id=c.dossier_id, session=c.session,
                                  selection_event_id=c.selection_event_id,
                                  amount_cents=c.amount_cents, available_cents=available)
    return CreditsReserved(dossier_id=c.dossier_id, session=c.session,
                           selection_event_id=c.selection_event_id, amount_cents=c.amount_cents)


def _commit(c: Commit, s: Envelope) -> EventData:
    if not c.dossier_known:
        raise Refusal("UNKNOWN_DOSSIER", f"Le dossier {c.dossier_id} est inconnu.")
    if past_deadline(c.now, s.deadline):
        raise Refusal("COMMITMENT_DEADLINE",
                      "La date limite d'engagement des crédits "
                      f"({s.deadline.strftime('%d/%m/%Y %H:%M:%S')}) est dépassée.")
    reservation = s.reservations.get(c.dossier_id)
    if reservation is None:
        raise Refusal("NOT_SELECTED", f"Le dossier {c.dossier_id} ne détient aucune réservation de crédits "
                                      "à engager (non retenu, déjà engagé ou réservation caduque).")
    return CreditsCommitted(dossier_id=c.dossier_id, amount_cents=reservation.amount_cents,
                            legal_reference=c.legal_reference)


def _lapse(c: LapseAt, s: Envelope) -> EventData | None:
    # Once: after the lapse no reservation is outstanding, so a later tick finds nothing.
    if not past_deadline(c.now, s.deadline) or not s.reservations:
        return None
    lapses = [Lapse(dossier_id=d, amount_cents=r.amount_cents) for d, r in sorted(s.reservations.items())]
    return ReservationsLapsed(deadline=s.deadline, lapses=lapses)


def evolve(s: Envelope, data: EventData) -> Envelope:
    replace = msgspec.structs.replace
    if isinstance(data, CreditsReserved):
        r = Reservation(data.amount_cents, data.session, data.selection_event_id)
        return replace(s, reservations={**s.reservations, data.dossier_id: r},
                       answered=s.answered | {data.selection_event_id})
    if isinstance(data, ReservationRefused):
        return replace(s, answered=s.answered | {data.selection_event_id})
    if isinstance(data, CreditsCommitted):
        held = s.reservations.get(data.dossier_id)
        rest = {k: v for k, v in s.reservations.items() if k != data.dossier_id}
        done = Reservation(data.amount_cents, held.session if held else 0,
                           held.selection_event_id if held else "")
        return replace(s, reservations=rest, committed={**s.committed, data.dossier_id: done})
    if isinstance(data, ReservationsLapsed):
        gone = {lapse.dossier_id for lapse in data.lapses}
        return replace(s, reservations={k: v for k, v in s.reservations.items() if k not in gone}, lapsed=True)
    return s


def _concerned(data: EventData) -> list[str]:
    if isinstance(data, ReservationsLapsed):
        return [lapse.dossier_id for lapse in data.lapses]
    return [data.dossier_id] if isinstance(data, (CreditsReserved, ReservationRefused, CreditsCommitted)) else []


def owned(s: Envelope) -> Envelope:
    """A copy of `s` whose maps and answered set belong to the caller, for `evolve_owned`."""
    return msgspec.structs.replace(s, reservations=dict(s.reservations), committed=dict(s.committed),
                                   answered=set(s.answered))


def evolve_owned(s: Envelope, data: EventData) -> Envelope:
    """`evolve` for a state from `owned` (a fold, a view): `evolve` runs on a state holding only
    the event's dossiers, and its result is merged into `s`'s own maps in place — O(1) per event
    instead of a copy of the whole envelope. The same state as `evolve` (a set compares equal
    to the frozenset)."""
    if not isinstance(data, (CreditsReserved, ReservationRefused, CreditsCommitted, ReservationsLapsed)):
        return s
    keys = _concerned(data)
    held, done = s.reservations, s.committed
    one = msgspec.structs.replace(s, reservations={k: held[k] for k in keys if k in held},
                                  committed={k: done[k] for k in keys if k in done}, answered=frozenset())
    new = evolve(one, data)
    for k in keys:
        for mine, theirs in ((held, new.reservations), (done, new.committed)):
            if k in theirs:
                mine[k] = theirs[k]
            else:
                mine.pop(k, None)
    s.answered.update(new.answered)  # type: ignore[attr-defined]
    return msgspec.structs.replace(new, reservations=held, committed=done, answered=s.answered)


def fold(state: Envelope, history: Iterable[EventData]) -> Envelope:
    """reduce(evolve, history, state), in linear time; `state` itself is left untouched."""
    return reduce(evolve_owned, history, owned(state))

