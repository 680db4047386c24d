"""`aap up` with a call that configures [connector] and a DN token: the connector runs as its own
process beside the five services, imports from DN (the fake of tests/connector) and writes back."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from aap.system import System
from aap_platform.auth import issue_token
from tests.connector.conftest import HDF
from tests.connector.fake_dn import TOKEN, FakeDN, serve

pytestmark = pytest.mark.e2e


async def test_the_connector_runs_beside_the_services_when_a_dn_token_is_given(tmp_path, monkeypatch):
    dn = FakeDN(HDF)
    for i in range(10):
        dn.add("standard", 9_100_000 + i)
    async with serve(dn) as url:
        dn.url = url
        monkeypatch.setenv("AAP_DN_TOKEN", TOKEN)
        async with System(tmp_path, free_ports=True, env={"AAP_DN_URL": url + "/api/v2/graphql"}) as system:
            assert "connector" in system.urls
            admin = {"Authorization": f"Bearer {issue_token(system.private_key, role='admin', subject='a')}"}
            async with httpx.AsyncClient() as http:
                deadline = time.monotonic() + 30
                while len(dn.mutations) < 20:  # 10 in instruction, 10 annotated with their eligibility
                    assert time.monotonic() < deadline, f"write-backs: {dn.mutations}"
                    await asyncio.sleep(0.2)
                imports = (await http.get(system.urls["connector"] + "/imports", headers=admin)).json()
                ready = (await http.get(system.urls["connector"] + "/health/ready")).json()
    assert imports["counts"]["imported"] == 10 and imports["failures"] == []
    assert ready["ready"] and ready["dn"]["reachable"]


async def test_without_a_dn_token_aap_up_runs_the_five_services_only(tmp_path, monkeypatch):
    from aap.system import SERVICES, optional_services

    monkeypatch.delenv("AAP_DN_TOKEN", raising=False)
    monkeypatch.delenv("AAP_DN_TOKEN_FILE", raising=False)
    assert optional_services(HDF.id, SERVICES, {}) == ()
    assert optional_services(HDF.id, ("intake",), {"AAP_DN_TOKEN": "t"}) == ()
    assert optional_services(HDF.id, SERVICES, {"AAP_DN_TOKEN": "t"}) == ("connector",)
