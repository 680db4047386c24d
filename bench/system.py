"""The whole system under load, measured against its limits (issue 7): `make bench`
(`python -m bench.system`, `--quick` for a smaller run). The five services as processes
(aap.system.System, free ports, a temp folder) on a local nats-server, then a replay of a
generated 1 000 000-event log and each view's memory; prints ONE table and writes it as JSON
to bench/results.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from aap.system import SERVICES, System
from aap_contract.config import load_call
from aap_platform.auth import issue_token
from aap_platform.clock import set_clock
from aap_platform.natsauth import connect_as, find_credentials
from aap_platform.store import EventStore
from bench import backbone, connector, contention, intake, latency, load, replay, wakeup
from bench.harness import (
    applicant_headers,
    quiesce,
    spawn_validate_only,
    wait_clock,
    wait_up,
)
from bench.payloads import scenario_dossier
from bench.report import summary, table

# The table measures the five services that react to submissions; the console (a view of the
# stream, no reaction) is measured apart, page by page: bench/console.py.
REACTING = tuple(s for s in SERVICES if s != "console")
IN_WINDOW = datetime(2021, 4, 15, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
FULL = {
    "submissions": 1500,
    "clients": 16,
    "rate": 200.0,
    "seconds": 15.0,
    "processes": 4,
    "selections": 600,
    "events": 1_000_000,
    "dossiers": 100_000,
    "backbone_events": 10_000,
    "rounds": 2,
    "intake_rounds": 3,
    "connector_dossiers": 1000,
}
QUICK = {
    "submissions": 300,
    "clients": 16,
    "rate": 200.0,
    "seconds": 4.0,
    "processes": 3,
    "selections": 150,
    "events": 100_000,
    "dossiers": 10_000,
    "backbone_events": 2_000,
    "rounds": 1,
    "intake_rounds": 2,
    "connector_dossiers": 200,
}


@asynccontextmanager
async def running(folder: Path, services: tuple[str, ...]):
    """A System of `services` (free ports, its own nats-server), the validate-only app beside it,
    the clock inside the call's window; yields (system, validate process, its URL, store, call)."""
    async with System(folder, free_ports=True, services=services) as system:
        validate, validate_url = spawn_validate_only(system)
        nc = await connect_as(system.nats_url, find_credentials(system.data_dir, "clock"))
        try:
            await wait_up(validate_url, validate)
            call = load_call(system.call)
            store = EventStore(nc.jetstream(), call.id)
            await wait_clock(system, await set_clock(store.js, call.id, IN_WINDOW))
            yield system, validate, validate_url, store, call
        finally:
            await nc.close()
            validate.terminate()
            validate.wait(10)


async def live(p: dict, folder: Path) -> dict:
    dossier = scenario_dossier()
    body = msgspec.json.encode(dossier)
    out: dict = {}

    # 1. What the event store costs: the intake service alone with its nats-server.
    async with running(folder / "alone", ("intake",)) as (system, validate, validate_url, store, _):
        headers = applicant_headers(system, dossier.sirens)
        alone = await intake.compare(
            system, validate, validate_url, store, body, headers, p["submissions"], p["clients"], p["intake_rounds"]
        )
    alone.pop("dossier_ids")
    out["intake_alone"] = alone
    # 2. The whole system: the other four services react to every submission on the same cores.
    async with running(folder / "system", REACTING) as (system, validate, validate_url, store, call):
        headers = applicant_headers(system, dossier.sirens)
        whole = await intake.compare(
            system, validate, validate_url, store, body, headers, p["submissions"], p["clients"], p["intake_rounds"]
        )
        ids = whole.pop("dossier_ids")
        out["intake"] = whole
        out["latency"] = await load.latency(
            system.urls["intake"] + "/dossiers", body, headers, store, p["rate"], p["seconds"]
        )
        await quiesce(system, store)
        # from the client's side: POST sent → its assessment seen, at 50 % and 90 % of the capacity
        out["end_to_end"] = await latency.end_to_end(
            system, call.id, body, headers, whole["submissions_per_second"], p["seconds"]
        )
        await quiesce(system, store)
        officer = issue_token(system.private_key, role="budget_officer", subject="bench-officer")
        grant = int(call.budget.envelope_cents * 1.5 / p["selections"])  # two thirds reserved, then refusals
        out["budget_contention"] = await contention.run(
            system.nats_url,
            call.id,
            system.urls["budget"],
            officer,
            ids[: p["selections"]],
            p["processes"],
            grant,
            system.data_dir,
        )
        await quiesce(system, store)
        out["broker_restart"] = await latency.broker_restart(system, body, headers)
    return out


def ready(p: dict, folder: Path) -> dict | None:
    """Time to ready at `events` events (bench/ready.py, when it exists: snapshots, issue 13)."""
    try:
        from bench.ready import measure_ready  # type: ignore[import-not-found]
    except ImportError:
        return None
    result = measure_ready(events=p["events"], folder=folder)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (about a minute)")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results.json")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["live", "replay", "memory", "backbone", "wakeup", "connector", "ready"],
    )
    args = parser.parse_args()
    p = QUICK if args.quick else FULL
    started = time.perf_counter()
    result: dict = {"parameters": {**p, "quick": args.quick, "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="aap-bench-") as tmp:
        if "live" not in args.skip:
            result.update(asyncio.run(live(p, Path(tmp))))
        if "wakeup" not in args.skip:
            # at about the events' rate of the intake load: two events per submission, ~450 /s
            result["wakeup"] = asyncio.run(wakeup.run(900.0, p["submissions"]))
        if "replay" not in args.skip:
            result["replay"] = asyncio.run(replay.run(p["events"], Path(tmp)))
        if "connector" not in args.skip:
            result["connector"] = asyncio.run(connector.run(p["connector_dossiers"], Path(tmp) / "connector"))
        if "ready" not in args.skip:
            measured = ready(p, Path(tmp) / "ready")
            if measured is not None:
                result["ready"] = measured
    if "memory" not in args.skip:
        result["memory"] = replay.memory(p["dossiers"])
    if "backbone" not in args.skip:
        result["backbone"] = asyncio.run(backbone.run(p["backbone_events"], 64, p["rounds"]))
    result["seconds"] = round(time.perf_counter() - started)
    result["targets"] = summary(result)
    print(table(result))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results written to {args.json} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
