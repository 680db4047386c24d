"""Given/When/Then harness for the committee's decider: past events of the whole call feed the
committee's view (the facts) and each session's state, as the service does."""

from __future__ import annotations

import json
from datetime import datetime
from functools import reduce
from pathlib import Path

import msgspec
import pytest

from aap_contract.config import load_call
from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import (
    CreditsReserved,
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
    EventData,
    ReservationRefused,
    RuleFailure,
)
from aap_contract.refusal import Refusal
from aap_platform.ids import stable_id
from services.committee import domain
from services.committee.view import CommitteeView, evolve_view, initial_view

CALL = load_call("hdf-itn7-axe3-2021")
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "02-full-call.json"
_STEPS = json.loads(SCENARIO.read_text())["steps"]
# the last content of each dossier of the full call (SVI as amended)
DOSSIERS = {s["ref"]: msgspec.convert(s["dossier"], Dossier) for s in _STEPS if "dossier" in s}
OPEN1 = datetime.fromisoformat("2021-05-20T10:00:00+02:00")
OPEN2 = datetime.fromisoformat("2021-07-06T10:00:00+02:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Given:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, data: EventData, event_id: str | None = None) -> Event:
        aggregate_id = {"session": lambda: str(data.session), "envelope": lambda: CALL.id}.get(
            data.aggregate, lambda: data.dossier_id
        )()
        event = Event(
            event_id or stable_id("test", str(len(self.events))),
            type(data).__name__,
            type(data).version,
            data.aggregate,
            aggregate_id,
            len(self.events) + 1,
            OPEN1,
            "test",
            "c",
            None,
            "0",
            data,
        )
        self.events.append(event)
        return event

    def dossier(self, ref: str, session: int = 1, eligible: bool | None = True, withdrawn: bool = False) -> str:
        submitted = self.add(DossierSubmitted(dossier_id=ref, dossier=DOSSIERS[ref], session=session))
        if withdrawn:
            self.add(DossierWithdrawn(dossier_id=ref))
        if eligible is not None:
            failures = [] if eligible else [RuleFailure("COST_RANGE", "coût global hors bornes")]
            self.add(
                EligibilityAssessed(
                    dossier_id=ref, dossier_event_id=submitted.event_id, eligible=eligible, failures=failures
                )
            )
        return ref

    def decided(self, command: domain.Command, now: datetime = OPEN1) -> Event:
        return self.add(self.when(command, now))

    def reserved(self, selection: Event) -> None:
        d = selection.data
        self.add(
            CreditsReserved(
                dossier_id=d.dossier_id,
                session=d.session,
                selection_event_id=selection.event_id,
                amount_cents=d.granted_cents,
            )
        )

    def refused(self, selection: Event) -> None:
        d = selection.data
        self.add(
            ReservationRefused(
                dossier_id=d.dossier_id,
                session=d.session,
                selection_event_id=selection.event_id,
                amount_cents=d.granted_cents,
                available_cents=0,
            )
        )

    def view(self) -> CommitteeView:
        view = initial_view(CALL)()
        for event in self.events:
            view = evolve_view(view, event)
        return view

    def state(self, number: int) -> domain.SessionState:
        mine = [e for e in self.events if e.aggregate_type == "session" and e.aggregate_id == str(number)]
        return reduce(domain.evolve, mine, domain.initial_state(number))

    def when(self, command: domain.Command, now: datetime = OPEN1) -> EventData:
        return domain.decide(command, self.state(command.session), self.view().facts(now))

    def refusal(self, command: domain.Command, now: datetime = OPEN1) -> str:
        with pytest.raises(Refusal) as caught:
            self.when(command, now)
        assert caught.value.message  # a French sentence for the user
        return caught.value.code
