"""Latency from the client's side (issue 13): the clock starts when the client sends its POST
and stops when the client itself sees the dossier's assessment (it watches the call's stream
for `EligibilityAssessed` on its own subscription, as a client waiting for the outcome would),
at a fixed rate of arrivals (open loop: a new submission every 1/rate s, whatever the answers'
delays), at shares of the measured capacity; and the time to recover after the broker restarts."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from nats.js import api

from aap.system import System
from aap_platform.natsauth import connect_as, find_credentials
from aap_platform.store import stream_name
from bench.load import client, open_loop, pct


def _ms(value: float) -> float:
    return round(value * 1000, 1)


class Watcher:
    """The client's own view of the outcome: when each dossier's assessment reached it."""

    def __init__(self, system: System, call_id: str) -> None:
        self.system = system
        self.call_id = call_id
        self.seen: dict[str, float] = {}
        self.nc = None
        self.sub = None

    async def __aenter__(self) -> Watcher:
        self.nc = await connect_as(self.system.nats_url, find_credentials(self.system.data_dir, "auditor"))
        js = self.nc.jetstream()

        async def on_msg(msg) -> None:
            if (msg.headers or {}).get("Aap-Type") == "EligibilityAssessed":
                self.seen.setdefault(msg.subject.rsplit(".", 1)[-1], time.perf_counter())

        self.sub = await js.subscribe(
            f"aap.{self.call_id}.assessment.>",
            stream=stream_name(self.call_id),
            cb=on_msg,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.NEW,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.sub.unsubscribe()
        await self.nc.close()


async def at_rate(
    system: System, call_id: str, url: str, body: bytes, headers: dict, rate: float, seconds: float
) -> dict:
    """`rate` submissions per second for `seconds`, each with its Idempotency-Key; per accepted
    dossier, the time from its POST sent to its assessment seen by the client."""
    sent: dict[str, float] = {}
    http_times: list[float] = []
    refused = 0
    n = max(1, int(rate * seconds))

    async def submit(http: httpx.AsyncClient) -> None:
        nonlocal refused
        started = time.perf_counter()
        try:
            response = await http.post(url, content=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        except httpx.HTTPError:
            refused += 1
            return
        http_times.append(time.perf_counter() - started)
        if response.status_code == 201:
            sent[response.json()["dossier_id"]] = started
        else:
            refused += 1

    async with Watcher(system, call_id) as watcher, client(256) as http:
        sending, late = await open_loop(rate, n, lambda: submit(http))
        deadline = time.monotonic() + 60
        while any(d not in watcher.seen for d in sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        seen = dict(watcher.seen)
    latencies = sorted(seen[d] - t for d, t in sent.items() if d in seen)
    return {
        "offered_rate": round(rate, 1),
        "achieved_rate": round(n / sending, 1) if sending else None,
        "late_sends": late,
        "submissions": n,
        "accepted": len(sent),
        "not_accepted": refused,
        "assessed_seen": len(latencies),
        "end_to_end_p50_ms": _ms(pct(latencies, 50)),
        "end_to_end_p99_ms": _ms(pct(latencies, 99)),
        "end_to_end_max_ms": _ms(max(latencies, default=float("nan"))),
        "http_p50_ms": _ms(pct(http_times, 50)),
        "http_p99_ms": _ms(pct(http_times, 99)),
    }


async def end_to_end(
    system: System,
    call_id: str,
    body: bytes,
    headers: dict,
    capacity: float,
    seconds: float,
    shares: tuple[float, ...] = (0.5, 0.9),
) -> dict:
    """The client-side latency at each share of `capacity` (submissions per second)."""
    url = system.urls["intake"] + "/dossiers"
    out = {"capacity_per_second": round(capacity, 1)}
    for share in shares:
        out[f"{round(share * 100)}%"] = await at_rate(system, call_id, url, body, headers, capacity * share, seconds)
        await asyncio.sleep(1.0)  # the pipeline drains between the two
    return out


async def broker_restart(system: System, body: bytes, headers: dict, outage: float = 2.0) -> dict:
    """The nats-server SIGKILLed, started again after `outage` s (same data, same port); from
    that start: the first submission answered 201 (one client retrying every 50 ms with one
    Idempotency-Key) and every service ready again. Each bounded at 60 s (None: not within)."""
    system.kill_nats()
    await asyncio.sleep(outage)
    system.start_nats()
    restarted = time.monotonic()
    key = str(uuid.uuid4())
    out: dict = {"outage_s": outage, "first_201_s": None, "all_ready_s": None, "answers_before": {}}

    async with httpx.AsyncClient(timeout=2.0) as http:  # a request hanging past 2 s is sent again

        async def first_201() -> None:
            while time.monotonic() - restarted < 60:
                try:
                    response = await http.post(
                        system.urls["intake"] + "/dossiers", content=body, headers={**headers, "Idempotency-Key": key}
                    )
                    status = str(response.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                if status == "201":
                    out["first_201_s"] = round(time.monotonic() - restarted, 2)
                    return
                out["answers_before"][status] = out["answers_before"].get(status, 0) + 1
                await asyncio.sleep(0.05)

        async def all_ready() -> None:
            while time.monotonic() - restarted < 60:
                states = []
                for p in system.processes.values():
                    try:
                        response = await http.get(p.url + "/health/ready", timeout=1.0)
                        states.append(response.status_code == 200 and response.json().get("ready"))
                    except (httpx.HTTPError, ValueError):
                        states.append(False)
                if all(states):
                    out["all_ready_s"] = round(time.monotonic() - restarted, 2)
                    return
                await asyncio.sleep(0.05)

        await asyncio.gather(first_201(), all_ready())
    return out
