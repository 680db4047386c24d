"""Load on the running system over HTTP: intake throughput with N concurrent clients (and the
same load on the validate-only endpoint), and the pipeline latency at a steady rate, from the
submission recorded to its eligibility assessment, both seen on one ordered subscription."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from nats.js import api

from aap_platform.store import EventStore


@dataclass
class Throughput:
    requests: int
    seconds: float
    errors: int
    latencies: list[float] = field(default_factory=list)
    dossier_ids: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def client(concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(limits=limits, timeout=30.0)


async def throughput(url: str, body: bytes, headers: dict, total: int, concurrency: int) -> Throughput:
    """`total` POSTs of `body`, `concurrency` clients in a closed loop."""
    remaining, errors, latencies, ids = total, 0, [], []

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await http.post(url, content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 201:
                errors += 1
            else:
                ids.append(response.json()["dossier_id"])

    async with client(concurrency) as http:
        await http.post(url, content=body, headers=headers)  # warm: connection, caches
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Throughput(total, seconds, errors, latencies, ids)


class Observer:
    """Arrival times of DossierSubmitted and EligibilityAssessed, by dossier id, on an ordered
    consumer of new events (the type from the Aap-Type header: nothing to decode)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.submitted: dict[str, float] = {}
        self.assessed: dict[str, float] = {}
        self.sub = None

    async def start(self) -> None:
        async def on_msg(msg) -> None:
            now = time.perf_counter()
            kind = (msg.headers or {}).get("Aap-Type")
            dossier_id = msg.subject.rsplit(".", 1)[-1]
            if kind == "DossierSubmitted":
                self.submitted.setdefault(dossier_id, now)
            elif kind == "EligibilityAssessed":
                self.assessed.setdefault(dossier_id, now)

        self.sub = await self.store.js.subscribe(
            self.store.all_subjects,
            stream=self.store.stream,
            cb=on_msg,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.NEW,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )

    async def stop(self) -> None:
        await self.sub.unsubscribe()


async def open_loop(rate: float, n: int, send: Callable[[], Awaitable[None]]) -> tuple[float, int]:
    """Start `send()` n times, one every 1/rate s whatever the answers' delays, and wait for them
    all. Returns how long the sending took and how many starts were late (> 5 ms)."""
    tasks, t0, late = [], time.perf_counter(), 0
    for k in range(n):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            late += 1
        tasks.append(asyncio.create_task(send()))
    sending = time.perf_counter() - t0
    await asyncio.gather(*tasks)
    return sending, late


async def latency(
    url: str,
    body: bytes,
    headers: dict,
    store: EventStore,
    rate: float,
    seconds: float,
    concurrency: int = 64,
    timeout: float = 60.0,
) -> dict:
    """Open loop: one submission every 1/rate s for `seconds`, whatever the answers' delays."""
    observer = Observer(store)
    await observer.start()
    sent: dict[str, float] = {}
    http_times: list[float] = []
    n = int(rate * seconds)

    async def submit(http: httpx.AsyncClient) -> None:
        started = time.perf_counter()
        response = await http.post(url, content=body, headers=headers)
        http_times.append(time.perf_counter() - started)
        if response.status_code == 201:
            sent[response.json()["dossier_id"]] = started

    async with client(concurrency) as http:
        sending, late = await open_loop(rate, n, lambda: submit(http))
    deadline = time.monotonic() + timeout
    while any(d not in observer.assessed for d in sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await observer.stop()
    pipeline = [
        observer.assessed[d] - observer.submitted[d] for d in sent if d in observer.assessed and d in observer.submitted
    ]
    end_to_end = [observer.assessed[d] - t for d, t in sent.items() if d in observer.assessed]
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    return {
        "submissions": n,
        "accepted": len(sent),
        "assessed": len(pipeline),
        "offered_rate": rate,
        "achieved_rate": round(n / sending, 1),
        "late_sends": late,
        "pipeline_p50_ms": ms(pct(pipeline, 50)),
        "pipeline_p99_ms": ms(pct(pipeline, 99)),
        "pipeline_max_ms": ms(max(pipeline, default=float("nan"))),
        "http_p50_ms": ms(pct(http_times, 50)),
        "http_p99_ms": ms(pct(http_times, 99)),
        "end_to_end_p50_ms": ms(pct(end_to_end, 50)),
        "end_to_end_p99_ms": ms(pct(end_to_end, 99)),
        "mean_pipeline_ms": ms(statistics.fmean(pipeline)) if pipeline else None,
    }


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds of each process so far (Linux /proc)."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pid in pids.items():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[name] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            out[name] = 0.0
    return out


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds per request, by process."""
    spent = {k: round((after[k] - before[k]) / requests * 1000, 2) for k in before}
    return {k: v for k, v in spent.items() if v > 0}
