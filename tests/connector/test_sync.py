"""The DN sync against a fake DN on loopback, intake over HTTP and a real nats-server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from services.connector.client import DnUnavailable
from services.connector.cursor import Cursors, bucket_name
from services.connector.sync import dossier_id_for
from tests.conftest import CALL

STANDARD, LAB = 41027, 41031
FIRST = 5_000_000


async def types(store) -> Counter:
    """Event types in the whole stream."""
    from aap_platform.codec import decode

    counts: Counter = Counter()
    last = await store.last_sequence()
    for seq in range(1, last + 1):
        msg = await store.js.get_msg(store.stream, seq)
        counts[decode(msg.data).type] += 1
    return counts


def add(dn, count: int, track: str = "standard", first: int = FIRST) -> list[int]:
    numbers = [first + i for i in range(count)]
    for n in numbers:
        dn.add(track, n)
    return numbers


async def test_a_first_sync_of_250_dossiers_over_three_pages_then_a_second_appends_nothing(dn, make_sync, store, nc):
    add(dn, 250)
    summary = await make_sync().run_once()
    assert (summary.submitted, summary.pages, summary.failed) == (250, 3 + 1, {})  # 3 pages + the empty démarche
    counts = await types(store)
    assert counts["DossierSubmitted"] == counts["DocumentUploaded"] == counts["DnDossierImported"] == 250
    assert "Dossiers importés : 250" in summary.french()

    last, requests = await store.last_sequence(), dn.graphql_requests
    again = await make_sync().run_once()
    assert await store.last_sequence() == last  # nothing appended
    assert dn.graphql_requests - requests == 2  # one request per démarche
    assert (again.submitted, again.skipped) == (0, 0)  # nothing after the saved cursor

    kv = await nc.jetstream().key_value(bucket_name(CALL))
    await kv.delete(f"cursor.{STANDARD}")  # a sync from scratch
    scratch = await make_sync().run_once()
    assert (scratch.submitted, scratch.skipped, scratch.pages) == (0, 250, 4)
    assert await store.last_sequence() == last


async def test_changes_and_deletions_are_picked_up_incrementally(dn, make_sync, store, intake):
    await intake.state.clock("2021-04-20T12:00:00+02:00")  # withdrawals are decided on intake's clock
    numbers = add(dn, 12)
    add(dn, 3, "innovation_lab", first=6_000_000)
    await make_sync().run_once()
    for n in numbers[:3]:
        dn.change(n, title=f"Nouveau titre {n}")
    dn.change(numbers[3], new_file=True)  # a new PDF only
    dn.delete(numbers[4])
    dn.delete(6_000_001, pending=True)
    summary = await make_sync().run_once()
    assert (summary.amended, summary.withdrawn, summary.failed) == (3, 2, {})
    counts = await types(store)
    assert counts["DossierAmended"] == 3 and counts["DossierWithdrawn"] == 2
    assert counts["DocumentUploaded"] == 15 + 1 and counts["DnDossierDeleted"] == 2
    last = await store.last_sequence()
    await make_sync().run_once()
    assert await store.last_sequence() == last


async def test_a_restart_mid_sync_resumes_at_the_saved_cursor_and_imports_nothing_twice(dn, make_sync, store, nc):
    numbers = add(dn, 250)
    dn.broken_files.add(dn.file_key(numbers[150]))  # page 2 stops on this dossier's file
    with pytest.raises(DnUnavailable):  # the pass dies, as in a crash
        await make_sync(patience=0.5, backoff=(0.1,)).run_once()
    saved = await Cursors(nc.jetstream(), CALL).cursor(STANDARD)
    first_page = next(v for op, v in dn.operations if op == "DossiersPage")
    assert saved is not None and first_page["after"] is None
    partial = (await types(store))["DnDossierImported"]
    assert 100 <= partial < 250

    dn.broken_files.clear()
    dn.operations.clear()
    summary = await make_sync().run_once()  # a new process: fresh clients and state
    assert next(v for op, v in dn.operations if op == "DossiersPage")["after"] == saved
    counts = await types(store)
    assert counts["DossierSubmitted"] == counts["DocumentUploaded"] == counts["DnDossierImported"] == 250
    # one dossier may have reached intake before the crash and not been recorded: intake finds it unchanged
    assert summary.submitted + summary.unchanged == 250 - partial and summary.unchanged <= 4


async def test_a_burst_of_429_is_waited_out(dn, make_sync, store):
    add(dn, 5)
    dn.burst_429, dn.retry_after = 3, "0.2"
    sync = make_sync()
    summary = await sync.run_once()
    assert summary.submitted == 5 and sync.dn.status.rate_limited == 3


async def test_an_expired_file_url_is_asked_again(dn, make_sync, store):
    numbers = add(dn, 4)
    dn.expire_next.update(numbers[:2])
    summary = await make_sync().run_once()
    assert summary.failed == {} and (await types(store))["DocumentUploaded"] == 4
    assert sum(1 for op, _ in dn.operations if op == "DossierFiles") == 2


async def test_dn_unreachable_for_a_while_the_sync_waits_and_resumes(dn, make_sync, store):
    add(dn, 5)
    dn.down_until = time.monotonic() + 1.5
    sync = make_sync(backoff=(0.2, 0.4))
    seen = []

    async def watch():
        while True:
            seen.append(sync.dn.status.reachable)
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    summary = await sync.run_once()
    watcher.cancel()
    assert summary.submitted == 5
    assert False in seen and sync.dn.status.reachable


async def test_an_unmappable_dossier_is_listed_then_imported_once_fixed(dn, make_sync, store):
    add(dn, 2)
    dn.add("standard", FIRST + 10, theme="9.9 – Thème inventé")
    dn.add("standard", FIRST + 11, cost="12 5OO")
    summary = await make_sync().run_once()
    assert summary.submitted == 2
    assert summary.failed[FIRST + 10] == ["thème inconnu : « 9.9 – Thème inventé »"]
    assert "montant illisible" in summary.failed[FIRST + 11][0]
    last = await store.last_sequence()
    assert (await make_sync().run_once()).failed == {} and await store.last_sequence() == last  # listed once
    dn.change(FIRST + 11, cost="45000")
    fixed = await make_sync().run_once()
    assert fixed.submitted == 1
    state = await make_sync().handlers.state(dossier_id_for(CALL, FIRST + 11))
    assert state.known and state.failure is None


async def test_a_file_whose_md5_differs_is_listed_then_imported_when_right(dn, make_sync, store):
    numbers = add(dn, 3)
    key = dn.file_key(numbers[1])
    good = dn.files[key]
    dn.files[key] = good.replace(b"version", b"VERSION")  # the bytes served are not the ones announced
    summary = await make_sync().run_once()
    assert summary.submitted == 2 and "somme de contrôle" in summary.failed[numbers[1]][0]
    dn.files[key] = good
    dn.change(numbers[1], title="Titre corrigé")
    again = await make_sync().run_once()
    assert again.amended == 1 and again.failed == {}
    assert (await types(store))["DocumentUploaded"] == 3


async def test_a_graphql_error_fails_the_pass_never_counts_as_done_and_the_next_pass_resumes(dn, make_sync, store):
    from services.connector.client import DnGraphQLError

    add(dn, 3)
    dn.fail_requests = {1}
    with pytest.raises(DnGraphQLError, match="Timeout"):
        await make_sync().run_once()
    assert (await types(store))["DnDossierImported"] == 0
    assert (await make_sync().run_once()).submitted == 3
