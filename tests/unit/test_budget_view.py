"""The budget view: totals, splits by session / département / theme, per-dossier records."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from aap_contract.config import load_call
from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import (
    CreditsCommitted,
    CreditsReserved,
    DossierSubmitted,
    Lapse,
    ReservationRefused,
    ReservationsLapsed,
)
from services.budget.view import evolve_view, figures, initial_view

CALL = load_call()
ENVELOPE = CALL.budget.envelope_cents
AT = datetime(2021, 5, 20, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "02-full-call.json"


def a_dossier(departement: str, theme: str) -> Dossier:
    raw = next(s["dossier"] for s in json.loads(SCENARIO.read_text())["steps"] if s["action"] == "submit")
    raw = {**raw, "theme": theme}
    raw["applicants"] = [{**raw["applicants"][0], "departement": departement, "operational_contact": True}]
    return msgspec.convert(raw, Dossier)


def event(data, n: int = 1) -> Event:
    kind = data.aggregate
    aggregate_id = CALL.id if kind == "envelope" else getattr(data, "dossier_id", "x")
    return Event(f"e{n}", type(data).__name__, type(data).version, kind, aggregate_id, n, AT, "t", "c", None, "0", data)


def replay(*datas):
    view = initial_view(CALL.budget)
    for n, data in enumerate(datas, 1):
        view = evolve_view(view, event(data, n))
    return view


def submitted(dossier_id: str, departement: str, theme: str, session: int = 1) -> DossierSubmitted:
    return DossierSubmitted(dossier_id=dossier_id, dossier=a_dossier(departement, theme), session=session)


def reserved(dossier_id: str, amount: int, session: int = 1) -> CreditsReserved:
    return CreditsReserved(
        dossier_id=dossier_id, session=session, selection_event_id=f"s-{dossier_id}", amount_cents=amount
    )


HISTORY = (
    submitted("A", "59", "1.3"),
    submitted("B", "80", "3.3"),
    submitted("C", "59", "3.3", session=2),
    submitted("D", "02", "1.1", session=2),
    submitted("E", "62", "2.2"),
    reserved("A", 4_500_000),
    reserved("B", 5_000_000),
    reserved("C", 7_000_000, session=2),
    ReservationRefused(dossier_id="D", session=2, selection_event_id="s-D", amount_cents=9, available_cents=0),
    reserved("E", 1_000_000),
    CreditsCommitted(dossier_id="A", amount_cents=4_500_000, legal_reference="EJ-1"),
    ReservationsLapsed(deadline=CALL.budget.commitment_deadline, lapses=[Lapse("E", 1_000_000)]),
)


def test_totals_with_reserved_committed_and_lapsed_credits():
    f = figures(replay(*HISTORY))
    assert {k: f[k] for k in ("envelope_cents", "reserved_cents", "committed_cents", "available_cents")} == {
        "envelope_cents": ENVELOPE,
        "reserved_cents": 12_000_000,
        "committed_cents": 4_500_000,
        "available_cents": ENVELOPE - 16_500_000,
    }


def test_splits_by_session_departement_and_theme():
    f = figures(replay(*HISTORY), sessions=["1", "2"], departements=list(CALL.departements))
    assert f["by_session"] == {
        "1": {"reserved_cents": 5_000_000, "committed_cents": 4_500_000, "granted_cents": 9_500_000},
        "2": {"reserved_cents": 7_000_000, "committed_cents": 0, "granted_cents": 7_000_000},
    }
    assert f["by_departement"]["59"] == {
        "reserved_cents": 7_000_000,
        "committed_cents": 4_500_000,
        "granted_cents": 11_500_000,
    }
    assert f["by_departement"]["80"]["reserved_cents"] == 5_000_000
    assert (
        f["by_departement"]["62"]
        == f["by_departement"]["60"]
        == {"reserved_cents": 0, "committed_cents": 0, "granted_cents": 0}
    )  # lapsed: back to zero
    assert f["by_theme"] == {
        "1.3": {"reserved_cents": 0, "committed_cents": 4_500_000, "granted_cents": 4_500_000},
        "3.3": {"reserved_cents": 12_000_000, "committed_cents": 0, "granted_cents": 12_000_000},
    }


def test_records_give_each_dossier_its_budget_status():
    records = replay(*HISTORY).records
    assert {d: (r.status, r.amount_cents, r.legal_reference) for d, r in records.items()} == {
        "A": ("committed", 4_500_000, "EJ-1"),
        "B": ("reserved", 5_000_000, None),
        "C": ("reserved", 7_000_000, None),
        "D": ("refused", 9, None),
        "E": ("lapsed", 1_000_000, None),
    }
    assert records["C"].session == 2


def test_the_view_shares_the_dossier_lifecycle_statuses():
    entries = replay(*HISTORY).dossiers.entries
    assert entries["A"].status == "committed" and entries["E"].status == "lapsed"
    assert entries["D"].status == "selection_unfunded"
