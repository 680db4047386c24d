"""Time to ready at N events (default 1 000 000), with and without a view snapshot: a generated
call history (bench/history.py), each event signed by its publisher's key and published by its
publisher's NATS identity on a secured nats-server, as the services would; then a service's
runtime (its views; its reactor left out: it has nothing pending in a real restart) started
three times:

1. no snapshot: every event replayed (and its signature checked, ≈110 µs each);
2. from the snapshot its graceful stop saved;
3. from a snapshot `behind` events old (the worst case between two periodic snapshots).

`measure_ready(...)` returns the figures (a row of `make bench`); `python -m bench.ready [N]`
prints them (`make bench-ready`). The process's own start (imports) is measured apart.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

from aap_contract.config import DEFAULT_CALL
from aap_contract.events import BY_NAME
from aap_platform.natsauth import SERVICES, auth_dir_of, connect_as
from aap_platform.natsserver import EmbeddedNats
from aap_platform.provision import provision
from aap_platform.settings import Settings
from aap_platform.signing import all_signers, ensure_event_keys, events_key_dir
from aap_platform.snapshot import bucket_name
from bench.history import History, dossiers_for

WINDOW = 2_000  # async publishes in flight per connection


async def fill(server: EmbeddedNats, data_dir: Path, messages, count: int) -> float:
    """Publish `count` messages of the history, each signed and sent by its publisher; seconds."""
    signers = all_signers(events_key_dir(data_dir), SERVICES)
    conns = {s: await connect_as(server.url, server.credentials[s]) for s in SERVICES}
    streams = {s: c.jetstream(publish_async_max_pending=WINDOW) for s, c in conns.items()}
    started, pending = time.perf_counter(), []
    try:
        for subject, payload, headers in islice(messages, count):
            kind = headers["Aap-Type"]
            signer = signers.for_type(kind)
            assert signer is not None, kind
            headers.update(signer.headers(subject, headers["Aap-Hash"]))
            pending.append(await streams[BY_NAME[kind].publisher].publish_async(subject, payload, headers=headers))
            if len(pending) >= WINDOW:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        for c in conns.values():
            await c.close()
    return time.perf_counter() - started


async def start_once(service: str, settings: Settings) -> dict:
    """The service's runtime started (views only) and stopped gracefully (which saves a snapshot)."""
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    runtime = app.state.runtime
    runtime.reactor = None
    started = time.perf_counter()
    await runtime.start()
    ready = time.perf_counter() - started
    snaps = runtime.snapshots
    loaded = bool(snaps and snaps.loaded)
    check = 0.0
    if snaps is not None and loaded:  # the background check of the chain under the snapshot
        checked = time.perf_counter()
        while any(v.digest is None for v in runtime.views) and time.perf_counter() - checked < 600:
            await asyncio.sleep(0.1)
        check = time.perf_counter() - checked
    position = runtime.position
    stopping = time.perf_counter()
    await runtime.stop()
    return {
        "ready_s": round(ready, 2),
        "position": position,
        "from_snapshot": loaded,
        "chain_check_after_ready_s": round(check, 1) if loaded else None,
        "stop_with_snapshot_save_s": round(time.perf_counter() - stopping, 2),
    }


async def snapshot_size(server: EmbeddedNats, service: str) -> int:
    nc = await connect_as(server.url, server.credentials["auditor"])
    try:
        obs = await nc.jetstream().object_store(bucket_name(service, DEFAULT_CALL))
        return sum(info.size for info in await obs.list())
    finally:
        await nc.close()


def import_seconds(service: str) -> float:
    """A fresh interpreter importing the service's app: the part of a restart before any I/O."""
    code = f"import time; t = time.perf_counter(); import services.{service}.app; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip()), 2)


async def measure_ready(
    events: int = 1_000_000, service: str = "intake", behind: int | None = None, folder: Path | None = None
) -> dict:
    """Time to ready of `service` at `events` events: without a snapshot, from a fresh one, and
    from one `behind` events old (default: the snapshot interval, AAP_SNAPSHOT_EVENTS)."""
    settings_behind = Settings.from_env({}).snapshot_events if behind is None else behind
    with tempfile.TemporaryDirectory(prefix="aap-ready-") as tmp:
        root = Path(folder or tmp)
        data_dir = root / "data"
        server = EmbeddedNats(root / "nats", auth_dir=auth_dir_of(data_dir)).start()
        try:
            ensure_event_keys(events_key_dir(data_dir), SERVICES)
            admin = await connect_as(server.url, server.credentials["admin"])
            try:
                await provision(admin.jetstream(), DEFAULT_CALL)
            finally:
                await admin.close()
            messages = History(DEFAULT_CALL).messages(dossiers_for(events + settings_behind))
            fill_s = await fill(server, data_dir, messages, events)
            settings = Settings(
                nats_url=server.url,
                data_dir=data_dir,
                clock="real",
                nats_credentials=auth_dir_of(data_dir) / f"{service}.json",
            )
            out: dict = {
                "service": service,
                "events": events,
                "fill_events_per_second": round(events / fill_s),
                "import_s": import_seconds(service),
            }
            out["without_snapshot"] = await start_once(service, settings)
            out["snapshot_bytes"] = await snapshot_size(server, service)
            out["with_snapshot"] = await start_once(service, settings)
            if settings_behind > 0:
                # the snapshot of the previous stop, then `behind` more events: replayed and checked
                await fill(server, data_dir, messages, settings_behind)
                out["with_snapshot_behind"] = {"behind": settings_behind, **await start_once(service, settings)}
            return out
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--service", default="intake")
    parser.add_argument("--behind", type=int, default=None, help="events after the snapshot (default: its interval)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure_ready(args.events, args.service, args.behind)), indent=2))


if __name__ == "__main__":
    main()
