"""The public scenarios, each played by `aap scenario run` against the five services started
as processes with their own nats-server; and a wrong expectation must fail loudly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.json"))
RUN_TIMEOUT = 240


def aap(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aap.cli", *argv], capture_output=True, text=True, timeout=RUN_TIMEOUT)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_public_scenario_passes(path):
    result = aap("scenario", "run", str(path))
    assert result.returncode == 0, result.stderr[-4000:]
    outcome = json.loads(result.stdout)
    expected = json.loads(path.read_text())
    assert len(outcome["steps"]) == len(expected["steps"])


def test_a_wrong_expectation_exits_1_and_prints_the_differences(tmp_path):
    scenario = json.loads(SCENARIOS[0].read_text())
    scenario["steps"] = scenario["steps"][:1]
    scenario["expect"] = {
        "steps": [{"index": 0, "ok": False, "error": "WINDOW"}],
        "budget": {"envelope_cents": 1, "reserved_cents": 0, "committed_cents": 0, "available_cents": 1},
    }
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(scenario))
    result = aap("scenario", "run", str(path))
    assert result.returncode == 1, result.stderr[-4000:]
    assert json.loads(result.stdout)["steps"] == [{"index": 0, "ok": True}]
    assert "steps[0].ok: expected false, got true" in result.stderr
    assert 'steps[0].error: expected "WINDOW", got (missing)' in result.stderr
    assert "budget.envelope_cents: expected 1, got 168500000" in result.stderr


def test_steps_on_unknown_refs_get_the_systems_own_answer(tmp_path):
    """A refused submission makes no ref; later steps on it reach the services with an id
    nobody holds, and the services answer UNKNOWN_DOSSIER (or their own refusal)."""
    first = json.loads(SCENARIOS[0].read_text())["steps"][0]
    malformed = {k: v for k, v in first["dossier"].items() if k != "applicants"}
    at = "2021-04-06T10:00:00+02:00"
    steps = [
        {"at": at, "action": "submit", "ref": "GHOST", "dossier": malformed},
        {"at": at, "action": "amend", "ref": "GHOST", "dossier": first["dossier"]},
        {"at": at, "action": "withdraw", "ref": "GHOST", "reason": "abandon"},
        {"at": at, "action": "commit", "ref": "GHOST", "legal_reference": "EJ-1"},
        {"at": at, "action": "advance"},
    ]
    path = tmp_path / "ghost.json"
    path.write_text(json.dumps({"name": "ghost", "call": "hdf-itn7-axe3-2021", "steps": steps}))
    result = aap("scenario", "run", str(path))
    assert result.returncode == 0, result.stderr[-4000:]
    outcome = json.loads(result.stdout)
    assert [(s["ok"], s.get("error")) for s in outcome["steps"]] == [
        (False, "VALIDATION"),
        (False, "UNKNOWN_DOSSIER"),
        (False, "UNKNOWN_DOSSIER"),
        (False, "UNKNOWN_DOSSIER"),
        (True, None),
    ]
    assert "applicants" in outcome["steps"][0]["message"]
    assert outcome["dossiers"] == {}
