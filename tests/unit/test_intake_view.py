"""Intake's view and request parsing: pure, no I/O."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from litestar.exceptions import ValidationException

from aap_contract.config import load_call
from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import (
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
    RuleFailure,
)
from aap_contract.lifecycle import STATUSES
from aap_platform.codec import decode
from bench.history import History
from services.intake.schemas import parse_dossier, parse_query
from services.intake.view import Filters, evolve_view, initial_view, select

CALL = load_call("hdf-itn7-axe3-2021")
STEPS = json.loads((Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json").read_text())["steps"]
RAW = {s["ref"]: s["dossier"] for s in STEPS if s["action"] == "submit"}
T0 = datetime(2021, 4, 6, 9, 30, tzinfo=UTC)


def event(seq: int, data, event_id: str | None = None) -> Event:
    return Event(
        event_id or f"e{seq}",
        type(data).__name__,
        type(data).version,
        data.aggregate,
        getattr(data, "dossier_id", "x"),
        1,
        T0 + timedelta(minutes=seq),
        "t",
        "c",
        None,
        "0",
        data,
    )


def built():
    view = initial_view()
    for seq, (ref, session) in enumerate([("TERRITORY", 1), ("OK-1", 1), ("CONTACT", 2)], start=1):
        dossier = msgspec.convert(RAW[ref], Dossier)
        evolve_view(view, event(seq, DossierSubmitted(dossier_id=ref, dossier=dossier, session=session)))
    evolve_view(
        view,
        event(
            4,
            EligibilityAssessed(
                dossier_id="TERRITORY",
                dossier_event_id="e1",
                eligible=False,
                failures=[RuleFailure("APPLICANT_TERRITORY", "hors région")],
            ),
        ),
    )
    evolve_view(view, event(5, DossierWithdrawn("CONTACT", "")))
    return view


def test_counts_follow_every_status_change():
    counts = built().counts
    assert (counts["submitted"], counts["ineligible"], counts["withdrawn"], counts["eligible"]) == (1, 1, 1, 0)


def test_counts_equal_the_entries_statuses_at_every_event_of_a_whole_history():
    view, kinds = initial_view(), set()
    for _, payload, _ in History().messages(300):  # every event type, lapses included
        e = decode(payload)
        view = evolve_view(view, e)
        kinds.add(e.type)
        expected = Counter({s: 0 for s in STATUSES})
        expected.update(entry.status for entry in view.index.entries.values())
        assert view.counts == expected, e.type
    assert {"ReservationsLapsed", "DossierWithdrawn", "DossierAmended"} <= kinds
    assert view.counts["lapsed"] > 0 and view.counts["withdrawn"] > 0


def test_select_filters_visibility_and_pages_in_submission_order():
    view = built()
    every = lambda e: True  # noqa: E731
    assert [e.dossier_id for e in select(view, Filters(), every, 1, 2)[0]] == ["TERRITORY", "OK-1"]
    assert select(view, Filters(), every, 2, 2) == ([view.get("CONTACT")], 3)
    assert [e.dossier_id for e in select(view, Filters(status="ineligible"), every, 1, 50)[0]] == ["TERRITORY"]
    assert [e.dossier_id for e in select(view, Filters(theme="1"), every, 1, 50)[0]] == ["TERRITORY", "OK-1"]
    assert select(view, Filters(theme="1.3", departement="59"), every, 1, 50)[1] == 1
    mine = lambda e: "215903501" in e.dossier.sirens  # noqa: E731
    assert [e.dossier_id for e in select(view, Filters(), mine, 1, 50)[0]] == ["OK-1"]


def test_structural_and_call_faults_are_named_together():
    body = json.loads(json.dumps(RAW["OK-1"]))
    body["track"] = "express"
    body["applicants"][0]["siren"] = "215903502"
    body["financing"]["global_cost_cents"] = "beaucoup"
    with pytest.raises(ValidationException) as caught:
        parse_dossier(json.dumps(body).encode(), CALL)
    assert [e["field"] for e in caught.value.extra] == ["financing.global_cost_cents", "track", "applicants[0].siren"]


def test_unknown_theme_kind_or_departement_parse_fine():
    assert parse_dossier(json.dumps(RAW["MANY"]).encode(), CALL).theme == "9.9"


def test_query_defaults_and_errors():
    assert parse_query({}) == (Filters(), 1, 50)
    assert parse_query({"session": "2", "page": "3", "page_size": "10", "theme": "1"}) == (
        Filters(session=2, theme="1"),
        3,
        10,
    )
    with pytest.raises(ValidationException):
        parse_query({"page_size": "0"})
