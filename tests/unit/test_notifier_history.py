"""A committee session as the notifier sees it (Given: upstream events), shared by the notifier's
tests; and the notifier's view of it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aap_contract.dossier import (
    Applicant,
    Contact,
    Document,
    Dossier,
    Expense,
    Financing,
    Software,
)
from aap_contract.envelope import Event
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    DossierSubmitted,
    EligibilityAssessed,
    EventData,
    NotificationSent,
    ProjectDeferred,
    ProjectRejected,
    ProjectSelected,
    RuleFailure,
    SessionClosed,
)
from aap_platform.store import EventStore, Loaded
from services.notifier.view import evolve_view, initial_view

CALL = "hdf-itn7-axe3-2021"
PARIS = ZoneInfo("Europe/Paris")
CLOSED_AT = datetime(2021, 5, 20, 15, 0, tzinfo=PARIS)
MOTIVATION = "Le diagnostic présenté reste trop général et la démarche participative n'est pas décrite."
FAILURE = "Le coût global (20 000,00 €) doit être strictement supérieur à 25 000,00 €."


def applicant(name: str, siren: str, email: str, lead: bool = True, siret: str | None = None) -> Applicant:
    return Applicant(
        name=name,
        siren=siren,
        kind="commune",
        departement="59",
        operational_contact=lead,
        validated=True,
        resources_committed=True,
        siret=siret,
        contact=Contact(name="Responsable numérique", email=email),
    )


def dossier(title: str, *applicants: Applicant, cost: int = 6_000_000, theme: str = "1.3") -> Dossier:
    return Dossier(
        track="standard",
        title=title,
        summary=title,
        theme=theme,
        applicants=list(applicants),
        financing=Financing(cost, cost // 2, cost - cost // 2, 0),
        expenses=[Expense("Prestation", "service", cost)],
        software=Software(False, False),
        document=Document("projet.pdf", ["situation", "method", "roadmap"]),
    )


DOSSIERS = {
    "d-civil": dossier(
        "Dématérialisation de l'état civil",
        applicant("Commune de Valmont", "215903501", "numerique@région.example.fr", siret="21590350100017"),
    ),
    "d-joint": dossier(
        "Portail citoyen intercommunal",
        applicant("Communauté de communes du Val", "200041762", "dsi@cc-val.example.fr", siret="20004176200010"),
        applicant(
            "Commune de Rivecourt", "216000570", "mairie@rivecourt.example.fr", lead=False, siret="21600057000012"
        ),
        applicant("Commune d'Orval", "216004655", "mairie@orval.example.fr", lead=False, siret="21600465500017"),
        cost=9_000_000,
        theme="3.2",
    ),
    "d-rejected": dossier(
        "Formation des agents", applicant("Commune de Fresnoy", "215902545", "contact@fresnoy.example.fr")
    ),
    "d-ineligible": dossier(
        "Petite étude", applicant("Commune de Marle", "210204553", "dgs@marle.example.fr"), cost=2_000_000
    ),
    "d-deferred": dossier("Relation usagers", applicant("Commune d'Ault", "218000391", "ault@ault.example.fr")),
}
GRANTS = {"d-civil": 4_500_000, "d-joint": 7_000_000}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2021, month, day, hour, tzinfo=PARIS)


def session_one(close: bool = True) -> list[tuple[EventData, datetime, str | None]]:
    """(event data, instant, event id) of session 1: two selections (one joint), one rejection,
    one ineligible dossier, one deferral, then the close."""
    items: list[tuple[EventData, datetime, str | None]] = []
    for i, (dossier_id, d) in enumerate(DOSSIERS.items()):
        items.append(
            (DossierSubmitted(dossier_id=dossier_id, dossier=d, session=1), at(4, 21 + i), f"sub-{dossier_id}")
        )
        eligible = dossier_id != "d-ineligible"
        failures = [] if eligible else [RuleFailure("COST_RANGE", FAILURE)]
        items.append(
            (
                EligibilityAssessed(
                    dossier_id=dossier_id, dossier_event_id=f"sub-{dossier_id}", eligible=eligible, failures=failures
                ),
                at(4, 21 + i, 11),
                None,
            )
        )
    for dossier_id, cents in GRANTS.items():
        items.append(
            (ProjectSelected(session=1, dossier_id=dossier_id, granted_cents=cents), at(5, 18), f"sel-{dossier_id}")
        )
        items.append(
            (
                CreditsReserved(
                    dossier_id=dossier_id, session=1, selection_event_id=f"sel-{dossier_id}", amount_cents=cents
                ),
                at(5, 18, 11),
                None,
            )
        )
    items.append((ProjectRejected(session=1, dossier_id="d-rejected", motivation=MOTIVATION), at(5, 18, 12), None))
    items.append((ProjectDeferred(session=1, dossier_id="d-deferred", to_session=2), at(5, 18, 13), None))
    if close:
        items.append(
            (
                SessionClosed(session=1, laureates=["d-civil", "d-joint"], not_retained=["d-rejected", "d-ineligible"]),
                CLOSED_AT,
                None,
            )
        )
    return items


def aggregate_id(data: EventData) -> str:
    if data.aggregate == "session":
        return str(data.session)
    if data.aggregate == "envelope":
        return CALL
    if data.aggregate == "notification":
        return data.notification_id
    return data.dossier_id


def as_events(items) -> list[Event]:
    """Envelopes for pure tests (no store)."""
    loaded: dict[tuple[str, str], Loaded] = {}
    out = []
    for data, instant, event_id in items:
        key = (data.aggregate, aggregate_id(data))
        agg = loaded.setdefault(key, Loaded(*key, []))
        event = agg.next(data, actor="test", at=instant, event_id=event_id)
        agg.events.append(event)
        out.append(event)
    return out


async def append_all(store: EventStore, items) -> int:
    """Append to a real store, as the upstream services would; returns the last sequence."""
    seq = 0
    for data, instant, event_id in items:
        loaded = await store.load(data.aggregate, aggregate_id(data))
        seq = await store.append(loaded.next(data, actor="test", at=instant, event_id=event_id), loaded.version)
    return seq


def view_of(items):
    view = initial_view()
    for event in as_events(items):
        view = evolve_view(view, event)
    return view


def test_view_knows_sessions_grants_reasons_and_what_was_sent():
    sent = NotificationSent(
        notification_id="s1-collective",
        kind="collective",
        session=1,
        dossier_ids=["d-rejected"],
        recipients=["x@y.fr"],
        message_id="<m>",
        subject="s",
    )
    committed = CreditsCommitted(dossier_id="d-civil", amount_cents=4_500_000, legal_reference="EJ-1")
    view = view_of(session_one() + [(sent, CLOSED_AT, None), (committed, at(6, 1, 9), None)])
    assert view.sessions[1].laureates == ("d-civil", "d-joint")
    assert view.sessions[1].closed_at == CLOSED_AT
    entries = view.dossiers.entries
    assert entries["d-joint"].granted_cents == 7_000_000
    assert entries["d-rejected"].motivation == MOTIVATION
    assert [f.message for f in entries["d-ineligible"].failures] == [FAILURE]
    assert view.sent["s1-collective"].message_id == "<m>"
    assert view.committed_at["d-civil"] == at(6, 1, 9)


def test_a_second_close_of_a_session_does_not_change_what_it_decided():
    again = SessionClosed(session=1, laureates=["d-civil"], not_retained=[])
    view = view_of(session_one() + [(again, at(5, 25), None)])
    assert view.sessions[1].laureates == ("d-civil", "d-joint")
