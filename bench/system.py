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
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import msgspec
import nats

from aap.system import PROJECT_ROOT, System
from bench import backbone, contention, load, replay
from bench.payloads import scenario_dossier
from bench.report import table, summary
from shared.auth import issue_token
from shared.clock import set_clock
from shared.config import load_call
from shared.natsserver import free_port
from shared.store import EventStore

IN_WINDOW = datetime(2021, 4, 15, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
FULL = {"submissions": 3000, "clients": 16, "rate": 200.0, "seconds": 15.0, "processes": 4,
        "selections": 600, "events": 1_000_000, "dossiers": 100_000, "backbone_events": 10_000, "rounds": 2}
QUICK = {"submissions": 600, "clients": 16, "rate": 200.0, "seconds": 4.0, "processes": 3,
         "selections": 150, "events": 100_000, "dossiers": 10_000, "backbone_events": 2_000, "rounds": 1}


def spawn_validate_only(system: System) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "AAP_CALL": system.call, "AAP_JWKS_FILE": str(system.jwks_file),
           "AAP_DATA_DIR": str(system.data_dir), "PYTHONPATH": str(PROJECT_ROOT)}
    log = open(system.data_dir / "logs" / "validate-only.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "bench.validate_app:create_app",
                             "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(PROJECT_ROOT))
    return proc, f"http://127.0.0.1:{port}"


async def wait_up(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("validate-only app exited; see its log")
            try:
                await http.get(url + "/")
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError("validate-only app not up")


async def quiesce(system: System, store: EventStore, timeout: float = 120.0) -> None:
    """Every service has seen the whole stream and its reactor has nothing pending."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5.0) as http:
        while time.monotonic() < deadline:
            last = await store.last_sequence()
            states = [(await http.get(u + "/health/ready")).json() for u in system.urls.values()]
            if all(s["position"] >= last and s["reactor_lag"] == 0 and s.get("busy", 0) == 0 for s in states):
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("the system did not quiesce")


async def wait_clock(system: System, revision: int) -> None:
    async with httpx.AsyncClient(timeout=5.0) as http:
        for _ in range(600):
            states = [(await http.get(u + "/health/ready")).json() for u in system.urls.values()]
            if all(s["clock_revision"] >= revision for s in states):
                return
            await asyncio.sleep(0.05)
    raise RuntimeError("clock not seen by every service")


async def live(p: dict, folder: Path) -> dict:
    dossier = scenario_dossier()
    body = msgspec.json.encode(dossier)
    async with System(folder / "system", free_ports=True) as system:
        validate, validate_url = spawn_validate_only(system)
        nc = await nats.connect(system.nats_url)
        try:
            await wait_up(validate_url, validate)
            call = load_call(system.call)
            store = EventStore(nc.jetstream(), call.id)
            await wait_clock(system, await set_clock(store.js, call.id, IN_WINDOW))
            token = issue_token(system.private_key, role="applicant", subject="bench", sirens=dossier.sirens)
            officer = issue_token(system.private_key, role="budget_officer", subject="bench-officer")
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            pids = {**{n: s.proc.pid for n, s in system.processes.items()}, "nats-server": system.nats.proc.pid,
                    "validate-only": validate.pid, "bench client": os.getpid()}
            cpu = [load.cpu_seconds(pids)]
            only = await load.throughput(validate_url + "/dossiers", body, headers, p["submissions"], p["clients"])
            cpu.append(load.cpu_seconds(pids))
            intake = await load.throughput(system.urls["intake"] + "/dossiers", body, headers,
                                           p["submissions"], p["clients"])
            await quiesce(system, store)         # the assessments of those submissions included
            cpu.append(load.cpu_seconds(pids))
            latency = await load.latency(system.urls["intake"] + "/dossiers", body, headers, store,
                                         p["rate"], p["seconds"])
            await quiesce(system, store)
            grant = int(call.budget.envelope_cents * 1.5 / p["selections"])   # two thirds reserved, then refusals
            budget = await contention.run(system.nats_url, call.id, system.urls["budget"], officer,
                                          intake.dossier_ids[:p["selections"]], p["processes"], grant)
        finally:
            await nc.close()
            validate.terminate()
            validate.wait(10)
    return {"intake": {"submissions": p["submissions"], "clients": p["clients"],
                       "submissions_per_second": round(intake.rate, 1), "errors": intake.errors,
                       "p50_ms": round(load.pct(intake.latencies, 50) * 1000, 1),
                       "p99_ms": round(load.pct(intake.latencies, 99) * 1000, 1),
                       "cpu_ms_per_submission": load.cpu_per_request(cpu[1], cpu[2], p["submissions"])},
            "validate_only": {"requests_per_second": round(only.rate, 1), "errors": only.errors,
                              "p50_ms": round(load.pct(only.latencies, 50) * 1000, 1),
                              "cpu_ms_per_request": load.cpu_per_request(cpu[0], cpu[1], p["submissions"])},
            "intake_vs_validate_only": round(intake.rate / only.rate, 3),
            "latency": latency, "budget_contention": budget}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (about a minute)")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results.json")
    parser.add_argument("--skip", action="append", default=[], choices=["live", "replay", "memory", "backbone"])
    args = parser.parse_args()
    p = QUICK if args.quick else FULL
    started = time.perf_counter()
    result: dict = {"parameters": {**p, "quick": args.quick, "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="aap-bench-") as tmp:
        if "live" not in args.skip:
            result.update(asyncio.run(live(p, Path(tmp))))
        if "replay" not in args.skip:
            result["replay"] = asyncio.run(replay.run(p["events"], Path(tmp)))
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
