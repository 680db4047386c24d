"""Benchmark of the event backbone (issue 2): raw nats-py against EventStore and Projection,
on one local nats-server started for the run.  `make bench` / `python -m bench.backbone`.

Each append figure is compared with raw `js.publish` of the same bytes and headers (minus
the expected-sequence check), each replay figure with a raw ordered consumer counting the
same stream. Measurements alternate raw/ours over several rounds; the median is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import nats

from aap_contract.lifecycle import evolve_index, initial_index
from aap_platform.codec import encode
from aap_platform.natsserver import EmbeddedNats
from aap_platform.projection import Projection
from aap_platform.store import EventStore
from bench.payloads import history, raw_messages, scenario_dossier

CALL, RAW_CALL = "bench-call", "bench-raw"


async def raw_publish(js, stream: str, subject: str, messages) -> None:
    for payload, headers in messages:
        await js.publish(subject, payload, stream=stream, headers=headers)


async def append_all(store: EventStore, events) -> None:
    version = 0
    for event in events:
        version = await store.append(event, version)


class Clock:
    """Wall time and this process's CPU time (the client's share; the server has its own)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


async def timed(coros) -> Clock:
    with Clock() as clock:
        await asyncio.gather(*coros)
    return clock


async def raw_drain(js, store: EventStore, total: int) -> Clock:
    done, count = asyncio.Event(), 0

    async def on_msg(msg) -> None:
        nonlocal count
        count += 1
        if count >= total:
            done.set()

    with Clock() as clock:
        sub = await js.subscribe(
            store.all_subjects,
            stream=store.stream,
            cb=on_msg,
            ordered_consumer=True,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )
        await done.wait()
    await sub.unsubscribe()
    return clock


async def replay(store: EventStore, initial, evolve) -> Clock:
    view = Projection("bench", initial, evolve)
    with Clock() as clock:
        await view.start(store)
        await view.ready.wait()
    await view.stop()
    return clock


def count_initial() -> int:
    return 0


def count_evolve(n: int, _event) -> int:
    return n + 1


async def run(events: int, writers: int, rounds: int) -> dict:
    dossier = scenario_dossier()
    per_writer = events // writers
    times: dict[str, list[Clock]] = {
        k: []
        for k in (
            "raw_publish_sequential",
            "append_single_aggregate",
            "raw_publish_concurrent",
            "append_many_aggregates",
            "raw_drain",
            "replay_status_index",
            "replay_counting",
        )
    }
    with tempfile.TemporaryDirectory(prefix="aap-bench-") as tmp:
        server = EmbeddedNats(Path(tmp) / "nats").start()
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            store, raw = EventStore(js, CALL), EventStore(js, RAW_CALL)
            await store.ensure_stream()
            await raw.ensure_stream()
            payload_bytes = len(encode(history(dossier, "d", 1)[0]))
            for r in range(rounds):
                single = history(dossier, f"single-{r}", events)
                raw_single = raw_messages(history(dossier, f"single-{r}", events))
                times["raw_publish_sequential"].append(
                    await timed([raw_publish(js, raw.stream, f"aap.{RAW_CALL}.dossier.single-{r}", raw_single)])
                )
                times["append_single_aggregate"].append(await timed([append_all(store, single)]))
                many = [history(dossier, f"w{r}-{w}", per_writer) for w in range(writers)]
                raw_many = [raw_messages(history(dossier, f"w{r}-{w}", per_writer)) for w in range(writers)]
                times["raw_publish_concurrent"].append(
                    await timed(
                        [
                            raw_publish(js, raw.stream, f"aap.{RAW_CALL}.dossier.w{r}-{w}", m)
                            for w, m in enumerate(raw_many)
                        ]
                    )
                )
                times["append_many_aggregates"].append(await timed([append_all(store, h) for h in many]))
            total = await store.last_sequence()
            for _ in range(rounds):
                times["raw_drain"].append(await raw_drain(js, store, total))
                times["replay_status_index"].append(await replay(store, initial_index, evolve_index))
                times["replay_counting"].append(await replay(store, count_initial, count_evolve))
        finally:
            await nc.close()
            server.stop()
    counts = {
        "raw_publish_sequential": events,
        "append_single_aggregate": events,
        "raw_publish_concurrent": per_writer * writers,
        "append_many_aggregates": per_writer * writers,
        "raw_drain": total,
        "replay_status_index": total,
        "replay_counting": total,
    }
    rates = {k: round(counts[k] / statistics.median(c.wall for c in v)) for k, v in times.items()}
    cpu = {k: round(statistics.median(c.cpu for c in v) / counts[k] * 1e6, 1) for k, v in times.items()}
    ratios = {
        "append_single_aggregate_vs_raw_sequential": rates["append_single_aggregate"] / rates["raw_publish_sequential"],
        "append_many_aggregates_vs_raw_concurrent": rates["append_many_aggregates"] / rates["raw_publish_concurrent"],
        "replay_status_index_vs_raw_drain": rates["replay_status_index"] / rates["raw_drain"],
        "replay_counting_vs_raw_drain": rates["replay_counting"] / rates["raw_drain"],
    }
    cpu_ratios = {key: round(cpu[base] / cpu[ours], 3) for _, ours, base, key in ROWS}
    return {
        "parameters": {
            "events_per_measure": events,
            "concurrent_writers": writers,
            "rounds": rounds,
            "events_replayed": total,
            "payload_bytes": payload_bytes,
        },
        "rates_events_per_second": rates,
        "client_cpu_us_per_event": cpu,
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "client_cpu_ratios": cpu_ratios,
    }


ROWS = [  # (label, measured, baseline, ratio key)
    (
        "append, 1 aggregate, sequential",
        "append_single_aggregate",
        "raw_publish_sequential",
        "append_single_aggregate_vs_raw_sequential",
    ),
    (
        "append, N aggregates, concurrent",
        "append_many_aggregates",
        "raw_publish_concurrent",
        "append_many_aggregates_vs_raw_concurrent",
    ),
    ("replay, status index view", "replay_status_index", "raw_drain", "replay_status_index_vs_raw_drain"),
    ("replay, counting view", "replay_counting", "raw_drain", "replay_counting_vs_raw_drain"),
]


def table(result: dict) -> str:
    rates, ratios, p = result["rates_events_per_second"], result["ratios"], result["parameters"]
    cpu = result["client_cpu_us_per_event"]
    lines = [
        f"events/measure={p['events_per_measure']} writers={p['concurrent_writers']} rounds={p['rounds']} "
        f"replayed={p['events_replayed']} payload={p['payload_bytes']} B",
        "| measure | ours (events/s) | raw nats-py baseline | raw (events/s) | ratio "
        "| client CPU µs/event (ours / raw) | CPU ratio |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for label, ours, base, key in ROWS:
        lines.append(
            f"| {label} | {rates[ours]:,} | {base} | {rates[base]:,} | {ratios[key]:.2f} "
            f"| {cpu[ours]} / {cpu[base]} | {result['client_cpu_ratios'][key]:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per append measure")
    parser.add_argument("--writers", type=int, default=64, help="concurrent writers / publishers")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is kept")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results-backbone.json")
    args = parser.parse_args()
    result = asyncio.run(run(args.events, args.writers, args.rounds))
    print(table(result))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
