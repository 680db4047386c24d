"""Replay: every service's view rebuilt from a generated log of N events (default 1 000 000),
as its service wires it, against a raw nats-py drain of the same stream in the same run: a
drain between views, each view compared with the faster of the drains around it, the view's
time the best of two (on a shared machine, noise only slows); and each view's memory per
dossier, measured in a fresh process per view (bench.memory).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import nats

from aap_platform.natsserver import EmbeddedNats
from aap_platform.projection import Projection
from aap_platform.store import EventStore
from bench.backbone import Clock, raw_drain
from bench.history import History, dossiers_for
from bench.views import VIEWS, view

CALL = "bench-replay"
WINDOW = 4_000  # async publishes in flight


async def fill(js, store: EventStore, total: int) -> float:
    """Publish the first `total` events of a generated history; returns seconds."""
    started, pending = time.perf_counter(), []
    history = History(CALL).messages(dossiers_for(total))
    for n, (subject, payload, headers) in enumerate(history):
        if n >= total:
            break
        pending.append(await js.publish_async(subject, payload, headers=headers))
        if len(pending) >= WINDOW:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    return time.perf_counter() - started


async def replay_view(store: EventStore, initial, evolve, types, decode) -> Clock:
    """The view rebuilt by a Projection configured as its service's (types and decoding included)."""
    projection = Projection("bench", initial, evolve, types=types, decode=decode)
    with Clock() as clock:
        await projection.start(store)
        await projection.ready.wait()
    await projection.stop()
    return clock


async def run(events: int, folder: Path, rounds: int = 2) -> dict:
    server = EmbeddedNats(folder / "nats-replay").start()
    nc = None
    try:
        nc = await nats.connect(server.url, pending_size=64 * 1024 * 1024)
        js = nc.jetstream(publish_async_max_pending=WINDOW)
        store = EventStore(js, CALL)
        await store.ensure_stream()
        fill_s = await fill(js, store, events)
        total = await store.last_sequence()
        out = {"events": total, "fill_events_per_second": round(total / fill_s)}
        raws = [await raw_drain(js, store, total)]
        for name in VIEWS:
            # best of `rounds` for the view, best of the drains just before and after it (noise only slows)
            ours = min([await replay_view(store, *view(name)) for _ in range(rounds)], key=lambda c: c.wall)
            raws.append(await raw_drain(js, store, total))
            raw = min(raws[-2:], key=lambda c: c.wall)
            out[name] = {
                "raw_drain_events_per_second": round(total / raw.wall),
                "events_per_second": round(total / ours.wall),
                "seconds": round(ours.wall, 1),
                "ratio_to_raw_drain": round(raw.wall / ours.wall, 3),
                "client_cpu_us_per_event": round(ours.cpu / total * 1e6, 1),
                "raw_client_cpu_us_per_event": round(raw.cpu / total * 1e6, 1),
            }
        return out
    finally:
        if nc is not None:
            await nc.close()
        server.stop()


def memory(dossiers: int, parallel: int = 2) -> dict:
    """Each view's memory for `dossiers` dossiers, a fresh interpreter per view, `parallel` at a time."""
    out, names = {}, list(VIEWS)
    while names:
        batch, names = names[:parallel], names[parallel:]
        procs = {
            n: subprocess.Popen(
                [sys.executable, "-m", "bench.memory", n, str(dossiers)], stdout=subprocess.PIPE, text=True
            )
            for n in batch
        }
        for n, p in procs.items():
            stdout, _ = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"bench.memory {n} failed ({p.returncode})")
            out[n] = json.loads(stdout)
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="aap-replay-") as tmp:
        print(json.dumps(asyncio.run(run(int(sys.argv[1]), Path(tmp))), indent=2))
