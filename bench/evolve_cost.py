"""Where a view's replay time goes, by event type, without NATS: `python -m bench.evolve_cost VIEW
[DOSSIERS]` decodes the generated history of DOSSIERS dossiers (default 140 000, about 1 000 000
events) the way the view's Projection does and applies it, timing decode and evolve per type.
Prints the µs per event of each, overall and by type (the share: its weight in the mean)."""

from __future__ import annotations

import sys
import time
from collections import Counter

from aap_platform import catchup
from bench.history import History
from bench.views import view


def measure(name: str, dossiers: int) -> str:
    initial, evolve, types, decode = view(name)
    messages = [(h["Aap-Type"], payload) for _, payload, h in History().messages(dossiers)]
    decoding, evolving, count = Counter(), Counter(), Counter()
    clock = time.perf_counter
    state = initial()
    catchup.begin()  # as during a replay
    for kind, payload in messages:
        if types is not None and kind not in types:
            continue
        t0 = clock()
        event = decode(payload, kind)
        t1 = clock()
        state = evolve(state, event)
        decoding[kind] += t1 - t0
        evolving[kind] += clock() - t1
        count[kind] += 1
    catchup.end()
    total = len(messages)
    lines = [
        f"{name}: {total:,} events; decode {sum(decoding.values()) / total * 1e6:.2f} µs/event, "
        f"evolve {sum(evolving.values()) / total * 1e6:.2f} µs/event"
    ]
    for kind in sorted(count, key=lambda k: -(decoding[k] + evolving[k])):
        n = count[kind]
        lines.append(
            f"  {kind:22} {n:>8,} ({n / total:5.1%})  decode {decoding[kind] / n * 1e6:5.2f} µs"
            f"  evolve {evolving[kind] / n * 1e6:5.2f} µs  share {(decoding[kind] + evolving[kind]) / total * 1e6:.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 140_000))
