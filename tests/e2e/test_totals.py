"""Every total of every view and export agrees, after every step of the demo and of each public
scenario (issue 17): the budget (totals, splits, reservations), intake's dossiers, the committee's
sessions, the public lauréats (JSON) and the SCDL file (with the grants it lists as incomplete).
A lapsed grant counts nowhere."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from aap.demo_data import build
from aap.scenario.loader import load, parse
from aap.scenario.runner import run
from aap_contract.config import load_call

pytestmark = pytest.mark.e2e
SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.json"))


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


async def _all_dossiers(client, intake: str, headers: dict) -> list[dict]:
    items: list[dict] = []
    while True:
        page = (
            await client.get(
                f"{intake}/dossiers", headers=headers, params={"page": len(items) // 200 + 1, "page_size": 200}
            )
        ).json()
        items.extend(page["items"])
        if not page["items"] or len(items) >= page["total"]:
            return items


async def check_totals(client, target, player, index: int) -> None:
    headers = player.tokens.header("admin", "totals")
    urls = target.urls

    async def get(url: str) -> dict:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
        return response.json()

    where = f"after step {index}"
    b = await get(f"{urls['budget']}/budget")
    reserved, committed = b["reserved_cents"], b["committed_cents"]
    assert b["envelope_cents"] == reserved + committed + b["available_cents"], where
    for split in ("by_session", "by_departement", "by_theme"):
        groups = b[split].values()
        assert sum(g["reserved_cents"] for g in groups) == reserved, (where, split)
        assert sum(g["committed_cents"] for g in groups) == committed, (where, split)
        assert sum(g["granted_cents"] for g in groups) == reserved + committed, (where, split)
    records = (await get(f"{urls['budget']}/reservations"))["items"]
    assert sum(r["amount_cents"] for r in records if r["status"] == "reserved") == reserved, where
    assert sum(r["amount_cents"] for r in records if r["status"] == "committed") == committed, where

    dossiers = await _all_dossiers(client, urls["intake"], headers)
    assert sum(d["granted_cents"] or 0 for d in dossiers if d["status"] == "selected") == reserved, where
    assert sum(d["committed_cents"] or 0 for d in dossiers if d["status"] == "committed") == committed, where

    laureates = (await get(f"{urls['notifier']}/laureates"))["sessions"]
    closed_committed = 0
    for session in (await get(f"{urls['committee']}/sessions"))["items"]:
        n = str(session["number"])
        detail = await get(f"{urls['committee']}/sessions/{n}")
        funded = sum(r["granted_cents"] or 0 for r in detail["agenda"] if r["funding"] in ("reserved", "committed"))
        assert funded == b["by_session"][n]["granted_cents"], (where, "committee", n)
        assert all(r["funding"] != "reserved" or r["status"] == "selected" for r in detail["agenda"]), where
        if detail["closed"]:
            listed = sum(e["granted_cents"] for e in laureates.get(n, []))
            assert listed == b["by_session"][n]["granted_cents"], (where, "lauréats", n)
            closed_committed += b["by_session"][n]["committed_cents"]

    text = (await client.get(f"{urls['notifier']}/laureates.csv")).text
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    published = sum(Decimal(r["montant"]) * Decimal(r["pourcentageSubvention"]) for r in rows)
    left_out = sum(i["committed_cents"] for i in (await get(f"{urls['notifier']}/laureates/incomplete"))["items"])
    assert int(published * 100) + left_out == closed_committed, (where, "SCDL")


@pytest.mark.timeout(900)
async def test_every_total_agrees_at_every_step_of_the_demo():
    scenario = parse(build(load_call())[0], "demo")
    outcome = await run(scenario, timeout=60, after_step=check_totals)
    assert outcome["notifications"].get("lapse"), "the demo has a lapse, and its letter"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_every_total_agrees_at_every_step_of_a_public_scenario(path):
    await run(load(path), timeout=60, after_step=check_totals)
