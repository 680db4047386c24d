"""The floor of a live view's cost: the CPU a do-nothing nats-py subscriber (an ordered JetStream
consumer, as every view uses, its callback empty, on uvloop as the services under uvicorn) spends
per message when messages arrive one at a time, as submissions make them — against the same
subscriber draining them in bulk.
`python -m bench.wakeup [RATE] [N]`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nats

from aap_platform.natsserver import EmbeddedNats

SUBSCRIBER = r"""
import asyncio, sys, time
import nats
async def main(url, n):
    nc = await nats.connect(url)
    count, done = 0, asyncio.Event()
    async def on_msg(msg):
        nonlocal count
        count += 1
        if count >= n:
            done.set()
    started = time.process_time()
    await nc.jetstream().subscribe("t.>", stream="T", cb=on_msg, ordered_consumer=True,
                                   pending_msgs_limit=-1, pending_bytes_limit=-1)
    print("ready", flush=True)
    await done.wait()
    print(time.process_time() - started, flush=True)
try:
    import uvloop        # the services' loop, under uvicorn
    uvloop.install()
except ImportError:
    pass
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""
PAYLOAD = b"x" * 1500
HEADERS = {"Aap-Type": "DossierSubmitted"}


def _subscriber(url: str, n: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, url, str(n)], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()  # subscribed
    return proc


async def run(rate: float = 900.0, n: int = 3000) -> dict:
    with tempfile.TemporaryDirectory(prefix="aap-wakeup-") as tmp:
        server = EmbeddedNats(Path(tmp)).start()
        nc = None
        try:
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            await js.add_stream(name="T", subjects=["t.>"])
            live = _subscriber(server.url, n)
            await asyncio.sleep(0.5)
            started = time.perf_counter()
            for k in range(n):  # one at a time, at `rate`
                delay = started + k / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await js.publish(f"t.{k}", PAYLOAD, headers=HEADERS)
            live_cpu = float(live.stdout.readline())
            bulk = _subscriber(server.url, n)  # the same messages, already stored
            bulk_cpu = float(bulk.stdout.readline())
        finally:
            if nc is not None:
                await nc.close()
            server.stop()
    return {
        "messages": n,
        "rate": rate,
        "live_cpu_us_per_message": round(live_cpu / n * 1e6, 1),
        "bulk_cpu_us_per_message": round(bulk_cpu / n * 1e6, 1),
    }


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:3]]
    print(json.dumps(asyncio.run(run(*(args[:1] or [900.0]), *(int(a) for a in args[1:2])))))
