"""The budget under contention: K committee processes select dossiers at once (ProjectSelected
on the session aggregate, optimistic concurrency, re-decided on conflict), the budget's reactor
answers each one on the envelope. Measured: answers (reservations and refusals) per second,
from the start signal to the last answer seen; checked: the envelope stays exact and never
goes below zero (sampled on GET /budget during the run, and step by step over the log)."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from nats.js import api

from aap_contract.config import load_call
from aap_contract.events import CreditsReserved, ProjectSelected, ReservationRefused
from aap_platform.natsauth import connect_as, find_credentials
from aap_platform.signing import Signer, events_key_dir, private_key_file
from aap_platform.store import ConcurrencyError, EventStore
from services.budget import domain

AT = datetime(2021, 5, 20, 8, 0, tzinfo=UTC)


async def _select(nats_url: str, call_id: str, ids: list[str], grant: int, ready, go, data_dir: Path) -> dict:
    # the committee's own identity and key: the bus admits, and the views accept, nothing else
    nc = await connect_as(nats_url, find_credentials(data_dir, "committee"))
    try:
        key = private_key_file(events_key_dir(data_dir), "committee")
        store = EventStore(nc.jetstream(), call_id, service="committee", signer=Signer.from_file("committee", key))
        loaded = await store.load("session", "1")
        ready.put(True)
        while not go.is_set():
            await asyncio.sleep(0.001)
        conflicts = 0
        for dossier_id in ids:
            while True:  # the committee's execute, with the session loaded incrementally
                event = loaded.next(ProjectSelected(1, dossier_id, grant), actor="bench:committee", at=AT)
                try:
                    await store.append(event, loaded.version)
                    break
                except ConcurrencyError:
                    conflicts += 1
                finally:
                    await store.load_more(loaded)
        return {"selections": len(ids), "conflicts": conflicts}
    finally:
        await nc.close()


def committee_process(
    nats_url: str, call_id: str, ids: list[str], grant: int, ready, go, results, data_dir: Path
) -> None:
    results.put(asyncio.run(_select(nats_url, call_id, ids, grant, ready, go, data_dir)))


async def run(
    nats_url: str,
    call_id: str,
    budget_url: str,
    token: str,
    dossier_ids: list[str],
    processes: int,
    grant: int,
    data_dir: Path,
    timeout: float = 300.0,
) -> dict:
    call = load_call(call_id)
    envelope = call.budget.envelope_cents
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    shares = [dossier_ids[i::processes] for i in range(processes)]
    procs = [
        ctx.Process(target=committee_process, args=(nats_url, call_id, s, grant, ready, go, results, data_dir))
        for s in shares
    ]
    for p in procs:
        p.start()
    for _ in procs:
        await asyncio.to_thread(ready.get, True, 60)

    nc = await connect_as(nats_url, find_credentials(data_dir, "auditor"))
    store = EventStore(nc.jetstream(), call_id)
    answers: list[float] = []

    async def on_answer(msg) -> None:
        if (msg.headers or {}).get("Aap-Type") in ("CreditsReserved", "ReservationRefused"):
            answers.append(time.perf_counter())

    sub = await store.js.subscribe(
        f"aap.{call_id}.envelope.>",
        stream=store.stream,
        cb=on_answer,
        ordered_consumer=True,
        deliver_policy=api.DeliverPolicy.NEW,
    )
    samples, low = 0, []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=10.0) as http:
        started = time.perf_counter()
        go.set()
        deadline = time.monotonic() + timeout
        while len(answers) < len(dossier_ids) and time.monotonic() < deadline:
            figures = (await http.get(budget_url + "/budget", headers=headers)).json()
            samples += 1
            if (
                figures["available_cents"] < 0
                or figures["reserved_cents"] + figures["committed_cents"] + figures["available_cents"] != envelope
            ):
                low.append(figures)
            await asyncio.sleep(0.05)
        elapsed = (answers[-1] if answers else time.perf_counter()) - started
        final = (await http.get(budget_url + "/budget", headers=headers)).json()
    for p in procs:
        await asyncio.to_thread(p.join, 30)
    per_process = [results.get(timeout=5) for _ in procs]
    await sub.unsubscribe()
    log_check = await check_log(store, call, dossier_ids)
    await nc.close()
    return {
        "processes": processes,
        "selections": len(dossier_ids),
        "answers": len(answers),
        "answers_per_second": round(len(answers) / elapsed, 1),
        "session_conflicts": sum(r["conflicts"] for r in per_process),
        "budget_samples": samples,
        "budget_samples_inexact": len(low),
        "final": {k: final[k] for k in ("envelope_cents", "reserved_cents", "committed_cents", "available_cents")},
        "envelope_exact": (
            final["reserved_cents"] + final["committed_cents"] + final["available_cents"] == envelope
            and final["available_cents"] >= 0
            and not low
            and log_check["ok"]
        ),
        "log": log_check,
    }


async def check_log(store: EventStore, call, dossier_ids: list[str]) -> dict:
    """The envelope folded event by event: never below zero; each selection answered once."""
    loaded = await store.load("envelope", call.id)
    state, lowest, answered = domain.initial_state(call.budget), call.budget.envelope_cents, []
    for event in loaded.events:
        state = domain.evolve(state, event)
        lowest = min(lowest, state.available_cents)
        if isinstance(event.data, (CreditsReserved, ReservationRefused)):
            answered.append(event.data.dossier_id)
    selected = set(dossier_ids)
    mine = [d for d in answered if d in selected]
    return {
        "ok": lowest >= 0 and len(mine) == len(set(mine)) == len(selected),
        "lowest_available_cents": lowest,
        "answered_once": len(mine) == len(set(mine)),
        "reserved": sum(1 for e in loaded.events if isinstance(e.data, CreditsReserved)),
        "refused": sum(1 for e in loaded.events if isinstance(e.data, ReservationRefused)),
    }


if __name__ == "__main__":  # pragma: no cover - manual run against a running system
    print(json.dumps({"usage": "run through bench.system"}))
