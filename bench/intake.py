"""Intake against the validate-only endpoint (same guard, same validation, no event), with the
same client: alternating rounds, validate-only then intake, so that drifts of a shared machine
touch both; the median rate of each, and the CPU each process spent per request."""

from __future__ import annotations

import os
import statistics
import subprocess

from aap.system import System
from aap_platform.store import EventStore
from bench import load
from bench.harness import quiesce


def _pids(system: System, validate: subprocess.Popen) -> dict[str, int]:
    return {
        **{n: s.proc.pid for n, s in system.processes.items()},
        "nats-server": system.nats.proc.pid,
        "validate-only": validate.pid,
        "bench client": os.getpid(),
    }


def _add(total: dict[str, float], before: dict[str, float], after: dict[str, float]) -> None:
    for k in before:
        total[k] = total.get(k, 0.0) + after[k] - before[k]


def _per_request(spent: dict[str, float], requests: int) -> dict[str, float]:
    return {k: round(v / requests * 1000, 2) for k, v in spent.items() if v / requests * 1000 >= 0.005}


async def compare(
    system: System,
    validate: subprocess.Popen,
    validate_url: str,
    store: EventStore,
    body: bytes,
    headers: dict,
    submissions: int,
    clients: int,
    rounds: int,
) -> dict:
    """`rounds` × (`submissions` POSTs to validate-only, then to intake, `clients` at a time);
    after each intake round the system is let quiet, so the CPU counted for a submission
    includes what it makes the other services do."""
    pids = _pids(system, validate)
    only_rates, intake_rates, intake_lat, only_lat, ids = [], [], [], [], []
    cpu_only: dict[str, float] = {}
    cpu_intake: dict[str, float] = {}
    errors = 0
    for _ in range(rounds):
        c0 = load.cpu_seconds(pids)
        only = await load.throughput(validate_url + "/dossiers", body, headers, submissions, clients)
        c1 = load.cpu_seconds(pids)
        intake = await load.throughput(system.urls["intake"] + "/dossiers", body, headers, submissions, clients)
        await quiesce(system, store)
        c2 = load.cpu_seconds(pids)
        _add(cpu_only, c0, c1)
        _add(cpu_intake, c1, c2)
        only_rates.append(only.rate)
        intake_rates.append(intake.rate)
        only_lat += only.latencies
        intake_lat += intake.latencies
        ids = intake.dossier_ids
        errors += intake.errors + only.errors
    n = submissions * rounds
    ms = lambda q, values: round(load.pct(values, q) * 1000, 1)  # noqa: E731
    intake_rate, only_rate = statistics.median(intake_rates), statistics.median(only_rates)
    return {
        "services": list(system.processes),
        "submissions": submissions,
        "clients": clients,
        "rounds": rounds,
        "errors": errors,
        "dossier_ids": ids,
        "submissions_per_second": round(intake_rate, 1),
        "rounds_submissions_per_second": [round(r, 1) for r in intake_rates],
        "p50_ms": ms(50, intake_lat),
        "p99_ms": ms(99, intake_lat),
        "cpu_ms_per_submission": _per_request(cpu_intake, n),
        "validate_only": {
            "requests_per_second": round(only_rate, 1),
            "rounds_requests_per_second": [round(r, 1) for r in only_rates],
            "p50_ms": ms(50, only_lat),
            "cpu_ms_per_request": _per_request(cpu_only, n),
        },
        "ratio": round(intake_rate / only_rate, 3),
    }
