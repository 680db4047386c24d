"""`aap connector describe` and `aap connector sync --once` against the fake DN and intake over HTTP."""

from __future__ import annotations

import asyncio

from aap.cli import main
from tests.conftest import CALL
from tests.connector.fake_dn import TOKEN


def run(argv: list[str]) -> int:
    return main(argv)


async def test_describe_prints_the_champs_to_write_the_mapping(dn, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("AAP_DN_TOKEN", TOKEN)
    monkeypatch.setenv("AAP_DN_URL", dn.url + "/api/v2/graphql")
    assert await asyncio.to_thread(run, ["connector", "describe", "41027", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Démarche 41027 — FITN7 axe 3" in out
    assert "Q2hhbXAtMTg2MjMyMg==  DropDownList" in out and "Thème et sous-thème du projet (obligatoire)" in out
    assert "SW5zdHJ1Y3RldXItMTgyMzE=  sgar-numerique@hauts-de-france.gouv.fr" in out
    assert TOKEN not in out


async def test_sync_once_on_250_dossiers_then_a_second_run_appends_nothing(
    dn, intake, nats_server, keys, store, monkeypatch, capsys, tmp_path
):
    for i in range(250):
        dn.add("standard", 8_000_000 + i)
    monkeypatch.setenv("AAP_DN_TOKEN", TOKEN)
    monkeypatch.setenv("AAP_DN_URL", dn.url + "/api/v2/graphql")
    argv = ["connector", "sync", "--once", "--call", CALL, "--nats-url", nats_server.url,
            "--data-dir", str(keys[0].parent.parent), "--intake-url", intake.state.url]  # fmt: skip
    assert await asyncio.to_thread(run, argv) == 0
    first = capsys.readouterr().out
    print(first)
    assert "Dossiers importés : 250" in first and "Dossiers non importables : 0" in first
    last = await store.last_sequence()
    assert await asyncio.to_thread(run, argv) == 0
    second = capsys.readouterr().out
    print(second)
    assert "Dossiers importés : 0" in second and "Écritures vers Démarche Numérique : 0" in second
    assert await store.last_sequence() == last
