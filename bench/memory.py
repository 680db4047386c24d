"""One view's memory for N dossiers, alone in this process: `python -m bench.memory VIEW N`.

The generated history of N dossiers is encoded first; then each event is decoded (so that
every dossier holds its own objects, as after a replay from the log) and applied to the view, as
its service wires it. Printed (JSON): the resident-set growth (after a GC) and the peak, in
bytes per dossier, and the events applied.
"""

from __future__ import annotations

import gc
import json
import resource
import sys

from bench.history import History
from bench.views import view


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def measure(name: str, dossiers: int) -> dict:
    initial, evolve, types, decode = view(name)
    payloads = [
        (h["Aap-Type"], payload) for _, payload, h in History().messages(dossiers)
    ]  # the generator's state goes
    warm = initial()
    for _, payload, h in History("warm").messages(50):  # imports, caches, interned names
        warm = evolve(warm, decode(payload, h["Aap-Type"]))
    del warm
    gc.collect()
    before, peak, events = rss(), 0, 0
    state = initial()
    for kind, payload in payloads:
        if types is None or kind in types:  # as the Projection does
            state = evolve(state, decode(payload, kind))
        events += 1
        if events % 20_000 == 0:
            peak = max(peak, rss())
    gc.collect()
    after = rss()
    peak = max(peak, after)
    return {
        "view": name,
        "dossiers": dossiers,
        "events": events,
        "bytes_per_dossier": round((after - before) / dossiers),
        "peak_bytes_per_dossier": round((peak - before) / dossiers),
    }


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
