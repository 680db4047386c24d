"""The console's own view: each event a dossier goes through becomes one French line of its timeline,
with who and when; the index, the members' scores and the last PDF follow."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from aap.demo_data import build
from aap_contract.config import load_call
from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    DocumentUploaded,
    DossierSubmitted,
    EligibilityAssessed,
    Lapse,
    NotificationSent,
    ProjectSelected,
    ReservationsLapsed,
    ReviewRecorded,
    Scores,
    SessionClosed,
)
from services.console.view import evolve_view, initial_view

T0 = datetime(2021, 4, 2, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
ID = "3b9d723d-f7d7-521f-872d-3cacfc14313e"


def event(i: int, data, actor: str = "agent") -> Event:
    aggregate = type(data).aggregate
    return Event(
        event_id=f"e{i}",
        type=type(data).__name__,
        version=type(data).version,
        aggregate_type=aggregate,
        aggregate_id=ID if aggregate in ("dossier", "assessment") else "1",
        sequence=i,
        occurred_at=T0 + timedelta(days=i),
        actor=actor,
        correlation_id=f"c{i}",
        causation_id=None,
        prev_hash="",
        data=data,
    )


def test_a_dossier_story_in_french():
    dossier = msgspec.convert(next(iter(build(load_call())[1].values())), Dossier)
    history = [
        DossierSubmitted(dossier_id=ID, dossier=dossier, session=1),
        DocumentUploaded(
            dossier_id=ID,
            filename="projet.pdf",
            content_type="application/pdf",
            size=2048,
            sha256="ab" * 32,
            object_name="x",
        ),
        EligibilityAssessed(dossier_id=ID, dossier_event_id="e1", eligible=True, failures=[]),
        ReviewRecorded(session=1, dossier_id=ID, member_id="referent-02", scores=Scores(3, 2, 2, None)),
        ProjectSelected(session=1, dossier_id=ID, granted_cents=3_000_000),
        CreditsReserved(dossier_id=ID, session=1, selection_event_id="e5", amount_cents=3_000_000),
        SessionClosed(session=1, laureates=[ID], not_retained=[]),
        NotificationSent(
            notification_id="n1",
            kind="individual",
            session=1,
            dossier_ids=[ID],
            recipients=["a@b.fr"],
            message_id="<m>",
            subject="s",
        ),
        CreditsCommitted(dossier_id=ID, amount_cents=3_000_000, legal_reference="CHORUS-1"),
        ReservationsLapsed(deadline=T0, lapses=[Lapse(dossier_id="autre", amount_cents=1)]),
    ]
    view = initial_view()
    for i, data in enumerate(history, start=1):
        evolve_view(view, event(i, data))
    lines = [s.text for s in view.timeline[ID]]
    assert lines[0].startswith("Dossier déposé (relevé 1) : « ")
    assert lines[1:] == [
        "Document déposé : projet.pdf (2\u202f048 octets)",
        "Éligibilité examinée : éligible",
        "Avis d'un membre du comité (session 1)",
        "Retenu en session 1 : 30\u00a0000,00\u00a0€ accordés",
        "Crédits réservés : 30\u00a0000,00\u00a0€",
        "Session 1 close : lauréat",
        "Notification individuelle envoyée (session 1) à 1 destinataire(s)",
        "Crédits engagés : 30\u00a0000,00\u00a0€ (engagement CHORUS-1)",
    ]
    assert view.timeline[ID][3].member_id == "referent-02"
    assert view.reviews[ID]["1"]["referent-02"].diagnosis == 3
    assert view.documents[ID].filename == "projet.pdf"
    assert view.index.entries[ID].status == "committed" and view.events == len(history)
    assert "Réservation caduque" in view.timeline["autre"][0].text
