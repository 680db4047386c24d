"""The committee's gauges, refreshed from the view whenever it moves (once caught up)."""
from __future__ import annotations

from prometheus_client import Gauge

from services.committee.agenda import agenda
from services.committee.view import CommitteeView

AGENDA = Gauge("aap_committee_agenda", "Dossiers on a session's agenda", ["session"])
DECISIONS = Gauge("aap_committee_decisions", "Standing decisions of a session, by kind", ["session", "decision"])


def measure(view: CommitteeView) -> None:
    for label, state in view.sessions.items():
        items = agenda(state, view.index.entries)
        AGENDA.labels(label).set(len(items))
        counts = {"select": 0, "reject": 0, "defer": 0}
        for entry in items:
            decision = state.standing(entry.dossier_id, view.budget.refused)
            if decision is not None:
                counts[decision.kind] += 1
        for kind, count in counts.items():
            DECISIONS.labels(label, kind).set(count)
