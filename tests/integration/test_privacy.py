"""Crypto-shredding on the real store: the log holds no contact in clear, an erasure makes every
read show « [effacé] », and the log's chain still verifies (issue 17)."""

from __future__ import annotations

from aap.audit.log import read_stream
from aap.audit.verify import verify
from aap_platform.privacy import ERASED, Vault, subject_for
from tests.conftest import CALL
from tests.integration.test_intake_api import client, clock, sample, submit  # noqa: F401 (fixtures)


async def test_contacts_are_sealed_in_the_log_and_erased_by_their_key(client, auth, clock, store, nc):  # noqa: F811
    await clock("2021-04-06T10:00:00+02:00")
    contact = sample()["applicants"][0]["contact"]
    created = await submit(client, auth("instructor"))
    assert created.status_code == 201, created.text
    dossier_id = created.json()["dossier_id"]
    records = [r async for r in read_stream(store)]
    raw = b"".join(r.data for r in records)
    assert contact["email"].encode() not in raw and contact["name"].encode() not in raw
    assert b"aap-sealed:v1:" in raw

    shown = (await client.get(f"/dossiers/{dossier_id}", headers=auth("instructor"))).json()
    assert shown["dossier"]["applicants"][0]["contact"]["email"] == contact["email"]

    vault = await Vault(nc.jetstream(), CALL).open(watch=False)
    assert await vault.erase(subject_for(CALL, contact["email"]))
    gone = (await client.get(f"/dossiers/{dossier_id}", headers=auth("instructor"))).json()
    assert gone["dossier"]["applicants"][0]["contact"]["name"] == ERASED
    assert gone["dossier"]["applicants"][0]["contact"]["email"] == ERASED
    assert verify([r async for r in read_stream(store)]).ok  # the log did not change


async def test_two_processes_sealing_a_new_person_agree_on_one_key(nc):
    one, two = await Vault(nc.jetstream(), CALL).open(watch=False), await Vault(nc.jetstream(), CALL).open(watch=False)
    import asyncio

    a, b = await asyncio.gather(one.seal_email("nouvelle@commune.example"), two.seal_email("nouvelle@commune.example"))
    assert a == b  # the same key: what either sealed, both read
    assert await one.reveal(a) == "nouvelle@commune.example"
