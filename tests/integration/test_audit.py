"""Audit: the log's integrity is verifiable, a tampered copy is caught at the right event,
a dossier's timeline reads in order, and a rebuilt view equals the live one."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from aap.audit.log import read_lines, read_stream, write_lines
from aap.audit.timeline import timeline
from aap.audit.verify import verify
from aap_contract.dossier import Dossier
from aap_contract.events import (
    DossierSubmitted,
    DossierWithdrawn,
    EligibilityAssessed,
    RuleFailure,
)
from aap_contract.lifecycle import evolve_index, initial_index
from aap_platform.audit import compare
from aap_platform.execute import execute
from aap_platform.projection import Projection

SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json").read_text())["steps"][
    0
]["dossier"]
T0 = datetime(2021, 4, 6, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


async def _history(store) -> None:
    dossier = msgspec.convert(SAMPLE, Dossier)
    for i in range(4):
        at = T0 + timedelta(hours=i)
        sub = await execute(
            store,
            "dossier",
            f"d{i}",
            lambda l, i=i: DossierSubmitted(f"d{i}", dossier, 1),
            actor="intake",
            now=lambda at=at: at,
        )
        await execute(
            store,
            "assessment",
            f"d{i}",
            lambda l, i=i, sub=sub: EligibilityAssessed(
                f"d{i}", sub.event_id, i != 2, [] if i != 2 else [RuleFailure("THEME", "Thème inconnu.")]
            ),
            actor="eligibility",
            now=lambda at=at: at + timedelta(minutes=1),
            causation=sub,
        )
    await execute(
        store,
        "dossier",
        "d1",
        lambda l: DossierWithdrawn("d1", "abandon"),
        actor="intake",
        now=lambda: T0 + timedelta(days=1),
    )


async def test_the_live_log_verifies_and_a_tampered_copy_fails_at_the_right_event(store, tmp_path):
    await _history(store)
    records = [r async for r in read_stream(store)]
    assert len(records) == 9
    verdict = verify(records)
    assert verdict.ok and verdict.events == 9

    path = tmp_path / "log.jsonl"
    write_lines(records, path)
    assert verify(read_lines(path)).digest == verdict.digest

    lines = path.read_text().splitlines()
    line = json.loads(lines[4])  # event #5: the third submission
    event = json.loads(base64.b64decode(line["data_b64"]))
    event["data"]["dossier"]["financing"]["requested_cents"] += 1_000_000
    line["data_b64"] = base64.b64encode(json.dumps(event).encode()).decode()
    lines[4] = json.dumps(line)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    findings = verify(read_lines(tampered)).findings
    assert [f.seq for f in findings] == [5]
    assert "ne correspond plus à l'empreinte enregistrée" in findings[0].problem

    removed = tmp_path / "removed.jsonl"
    removed.write_text("\n".join(lines[:2] + lines[3:]) + "\n")  # event #3 (d1's submission) removed
    findings = verify(read_lines(removed)).findings
    assert findings[0].seq == 3 and "manque" in findings[0].problem
    assert any(f.seq == 9 and "non chaîné" in f.problem for f in findings)  # d1 withdrawn


async def test_a_dossier_timeline_reads_in_order_with_its_status(store):
    await _history(store)
    lines = timeline([r async for r in read_stream(store)], "d1", ZoneInfo("Europe/Paris"))
    assert len(lines) == 3
    assert "dépôt du dossier" in lines[0] and "[déposé, en cours d'instruction]" in lines[0]
    assert "éligible" in lines[1] and "[éligible, en attente du comité]" in lines[1]
    assert "retrait du dossier" in lines[2] and "abandon" in lines[2] and "[retiré par son porteur]" in lines[2]
    assert "07/04/2021 09:30:00" in lines[2]


async def test_rebuilt_views_equal_the_live_view_and_as_of_shows_the_past(store):
    view = Projection("dossiers", initial_index, evolve_index)
    await view.start(store)
    await _history(store)
    await view.wait_for(9, timeout=5)
    [row] = await compare([view], store)
    assert row["live_digest"] == row["rebuilt_digest"] and row["position"] == 9
    [past] = await compare([view], store, as_of=T0 + timedelta(minutes=30), with_state=True)
    assert list(past["state"]["entries"]) == ["d0"]
    assert past["state"]["entries"]["d0"]["status"] == "eligible"
    await view.stop()
