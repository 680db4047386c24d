"""The public scenarios' committee steps through the decider, with the other services' facts
written as they would record them (the budget reserves every selection it can). The outcome
codes and the lauréats must be the scenario's own."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from aap_contract.dossier import Dossier
from aap_contract.events import (
    DossierAmended,
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
    RuleFailure,
    Scores,
)
from aap_contract.refusal import Refusal
from services.committee.domain import CloseSession, Decide, RecordReview
from tests.unit.committee_given import CALL, Given, at

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _content(g: Given, ref: str, step: dict, eligible: bool, amend: bool) -> None:
    instant = at(step["at"])
    kind = DossierAmended if amend else DossierSubmitted
    event = g.add(
        kind(dossier_id=ref, dossier=msgspec.convert(step["dossier"], Dossier), session=CALL.session_for(instant))
    )
    failures = [] if eligible else [RuleFailure("X", "inéligible")]
    g.add(EligibilityAssessed(dossier_id=ref, dossier_event_id=event.event_id, eligible=eligible, failures=failures))


def _command(step: dict):
    n, ref = step.get("session"), step.get("ref")
    if step["action"] == "review":
        return RecordReview(n, ref, step["member"], msgspec.convert(step["scores"], Scores))
    if step["action"] == "decide":
        return Decide(n, ref, step["decision"], step.get("granted_cents"), step.get("motivation"))
    return CloseSession(n)


@pytest.mark.parametrize("name", ["02-full-call", "03-envelope"])
def test_committee_steps_of_the_public_scenarios(name):
    scenario = json.loads((SCENARIOS / f"{name}.json").read_text())
    expect = scenario["expect"]
    eligible = {ref: d["eligible"] for ref, d in expect["dossiers"].items()}
    outcomes, laureates, g = {}, {}, Given()
    for index, step in enumerate(scenario["steps"]):
        ok = expect["steps"][index]["ok"]
        if step["action"] in ("submit", "amend"):
            if ok:
                _content(g, step["ref"], step, eligible[step["ref"]], amend=step["action"] == "amend")
            continue
        if step["action"] == "withdraw" and ok:
            g.add(DossierWithdrawn(dossier_id=step["ref"]))
        if step["action"] not in ("review", "decide", "close_session"):
            continue
        try:
            event = g.decided(_command(step), now=at(step["at"]))
        except Refusal as refusal:
            outcomes[index] = refusal.code
            continue
        outcomes[index] = "ok"
        if event.type == "ProjectSelected":
            g.reserved(event)
        if event.type == "SessionClosed":
            laureates[str(event.data.session)] = event.data.laureates
    wanted = {i: "ok" if e["ok"] else e["error"] for i, e in enumerate(expect["steps"]) if i in outcomes}
    assert outcomes == wanted
    # the expected lauréats are those whose grant still stands: a lapse (budget) takes one out
    lapsed = {ref for ref, d in expect.get("dossiers", {}).items() if d.get("status") == "lapsed"}
    assert {s: [r for r in refs if r not in lapsed] for s, refs in laureates.items()} == expect["laureates"]
