"""The committee's gauges, read from the live view at scrape time (no cost per event, and the
view's evolve stays free of side effects, as the audit replays it)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from prometheus_client import Gauge

from services.committee.agenda import agenda
from services.committee.view import CommitteeView

AGENDA = Gauge("aap_committee_agenda", "Dossiers on a session's agenda", ["session"])
DECISIONS = Gauge("aap_committee_decisions", "Standing decisions of a session, by kind", ["session", "decision"])
KINDS = ("select", "reject", "defer")


def agenda_size(view: CommitteeView, number: int) -> int:
    return len(agenda(view.session(number), view.index.entries))


def decisions(view: CommitteeView, number: int, kind: str) -> int:
    state = view.session(number)
    return sum(
        1
        for e in agenda(state, view.index.entries)
        if (d := state.standing(e.dossier_id, view.budget.refused)) is not None and d.kind == kind
    )


def register(sessions: list[int], view: Callable[[], CommitteeView]) -> None:
    for n in sessions:
        AGENDA.labels(str(n)).set_function(functools.partial(lambda n: agenda_size(view(), n), n))
        for kind in KINDS:
            DECISIONS.labels(str(n), kind).set_function(
                functools.partial(lambda n, kind: decisions(view(), n, kind), n, kind)
            )
