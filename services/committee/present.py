"""What the committee's read endpoints show, built from the view (pure)."""

from __future__ import annotations

from datetime import datetime

from aap_contract.config import Session
from services.committee.agenda import SessionState, agenda
from services.committee.view import CommitteeView


def session_status(session: Session, state: SessionState, now: datetime) -> str:
    if state.closed:
        return "closed"
    return "open" if now > session.cutoff else "upcoming"


def summary(view: CommitteeView, session: Session, now: datetime) -> dict:
    state = view.session(session.number)
    items = agenda(state, view.index.entries)
    decided = sum(1 for e in items if state.standing(e.dossier_id, view.budget.refused) is not None)
    status = session_status(session, state, now)
    return {
        "number": session.number,
        "cutoff": session.cutoff.isoformat(),
        "status": status,
        "open": status == "open",
        "closed": state.closed,
        "agenda_size": len(items),
        "decided": decided,
    }


def _funding(view: CommitteeView, event_id: str, status: str) -> str:
    """What became of a selection's credits: pending, refused, reserved, committed or lapsed."""
    if event_id in view.budget.refused:
        return "refused"
    if event_id not in view.budget.answered:
        return "pending"
    return status if status in ("committed", "lapsed") else "reserved"


def detail(view: CommitteeView, session: Session, now: datetime) -> dict:
    state = view.session(session.number)
    rows = []
    for entry in agenda(state, view.index.entries):
        decision = state.standing(entry.dossier_id, view.budget.refused)
        last = state.decisions.get(entry.dossier_id)
        rows.append(
            {
                "dossier_id": entry.dossier_id,
                "title": entry.title,
                "status": entry.status,
                "session": entry.session,
                "departement": entry.departement,
                "theme": entry.theme,
                "requested_cents": entry.requested_cents,
                "global_cost_cents": entry.global_cost_cents,
                "reviews": len(state.reviews.get(entry.dossier_id, {})),
                "decision": decision.kind if decision else None,
                "granted_cents": decision.granted_cents if decision else None,
                "motivation": decision.motivation if decision else None,
                "to_session": decision.to_session if decision else None,
                "funding": _funding(view, last.event_id, entry.status) if last and last.kind == "select" else None,
            }
        )
    return {
        **summary(view, session, now),
        "agenda": rows,
        "laureates": list(state.laureates),
        "not_retained": list(state.not_retained),
    }
