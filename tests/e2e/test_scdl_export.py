"""The SCDL file the running system publishes, validated as validata.fr does (frictionless
against the official 2.1.1 schema, plus its custom checks): the demo's, and a public scenario's
once an operator has completed the SIRETs its dossiers lacked."""

from __future__ import annotations

from pathlib import Path

import pytest

from aap.demo_data import build, luhn_complete
from aap.scenario.loader import load, parse
from aap.scenario.runner import run
from aap_contract.config import load_call
from tests.unit.scdl.validate import report

pytestmark = pytest.mark.e2e
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "02-full-call.json"


def at_the_end(steps: int, check):
    async def after_step(client, target, player, index):
        if index == steps - 1:
            await check(client, target, player)

    return after_step


@pytest.mark.timeout(600)
async def test_the_demos_file_is_valid_scdl_with_every_committed_grant():
    scenario = parse(build(load_call())[0], "demo")
    seen: dict = {}

    async def check(client, target, player):
        seen["csv"] = (await client.get(f"{target.urls['notifier']}/laureates.csv?bom=1")).content
        headers = player.tokens.header("admin", "scdl")
        seen["incomplete"] = (
            await client.get(f"{target.urls['notifier']}/laureates/incomplete", headers=headers)
        ).json()

    outcome = await run(scenario, timeout=60, after_step=at_the_end(len(scenario.steps), check))
    assert seen["csv"].startswith("\ufeffnomAttribuant".encode())
    assert report(seen["csv"]) == []
    assert seen["incomplete"]["total"] == 0
    committed = sum(1 for d in outcome["dossiers"].values() if d["status"] == "committed")
    assert seen["csv"].count(b"\r\n") == committed + 1  # one row per grant (no stated shares), plus the header


@pytest.mark.timeout(600)
async def test_a_scenarios_grants_wait_for_their_siret_then_publish_valid():
    scenario = load(SCENARIO)
    seen: dict = {}

    async def check(client, target, player):
        headers = player.tokens.header("budget_officer", "scdl")
        notifier, budget = target.urls["notifier"], target.urls["budget"]
        seen["before"] = (await client.get(f"{notifier}/laureates.csv")).content
        incomplete = (await client.get(f"{notifier}/laureates/incomplete", headers=headers)).status_code
        seen["forbidden"] = incomplete  # a budget officer does not read it: instructors, auditors, admins do
        admin = player.tokens.header("admin", "scdl")
        items = (await client.get(f"{notifier}/laureates/incomplete", headers=admin)).json()["items"]
        seen["incomplete"] = items
        for item in items:
            for structure in item["missing"]:
                siret = luhn_complete(structure["siren"] + "0001")
                answer = await client.put(
                    f"{budget}/commitments/{item['dossier_id']}/beneficiaries/{structure['siren']}",
                    json={"siret": siret},
                    headers=headers,
                )
                assert answer.status_code == 200, answer.text
        bad = await client.put(
            f"{budget}/commitments/{items[0]['dossier_id']}/beneficiaries/{items[0]['missing'][0]['siren']}",
            json={"siret": "12345678901234"},
            headers=headers,
        )
        seen["bad"] = bad.status_code, bad.json()
        seen["after"] = (await client.get(f"{notifier}/laureates.csv")).content
        seen["left"] = (await client.get(f"{notifier}/laureates/incomplete", headers=admin)).json()["total"]

    await run(scenario, timeout=60, after_step=at_the_end(len(scenario.steps), check))
    assert seen["before"].count(b"\r\n") == 1 and report(seen["before"]) == []  # nothing published invalid
    assert seen["forbidden"] == 403 and len(seen["incomplete"]) >= 1
    assert seen["bad"][0] == 422 and "SIRET" in str(seen["bad"][1])
    assert seen["left"] == 0 and report(seen["after"]) == []
    assert seen["after"].count(b"\r\n") == len(seen["incomplete"]) + 1
