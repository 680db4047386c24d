"""The console's pages with 1 000 dossiers in the log (issue 14): `python -m bench.console`, part of
`make bench`. The six services as processes (aap.system.System, free ports, a temp folder); 1 000
dossiers of the demonstration call submitted in the window, the clock moved past the first relevé
(the eligible ones on session 1's agenda), a few reviews and decisions; then each page fetched by a
signed-in administrator, one request at a time. Prints one table row per page and the verdict."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from aap.demo_data import build
from aap.system import System
from aap_contract.config import load_call
from aap_platform.auth import issue_token
from aap_platform.clock import set_clock
from aap_platform.natsauth import connect_as, find_credentials
from aap_platform.store import EventStore
from bench.harness import quiesce, wait_clock

TARGET_MS = 200.0
ADMIN = "admin@hauts-de-france.gouv.example"


async def load(system: System, n: int) -> list[str]:
    call = load_call(system.call)
    dossiers = list(build(call)[1].values())
    nc = await connect_as(system.nats_url, find_credentials(system.data_dir, "clock"))
    store = EventStore(nc.jetstream(), call.id)
    try:
        await wait_clock(system, await set_clock(store.js, call.id, call.window.opens + timedelta(days=2)))
        ids: list[str] = []
        async with httpx.AsyncClient(timeout=30) as http:
            token = issue_token(system.private_key, role="instructor", subject="bench-console")
            headers = {"Authorization": f"Bearer {token}"}
            queue = iter(itertools.islice(itertools.cycle(dossiers), n))

            async def worker() -> None:
                for dossier in queue:
                    r = await http.post(system.urls["intake"] + "/dossiers", json=dossier, headers=headers)
                    r.raise_for_status()
                    ids.append(r.json()["dossier_id"])

            await asyncio.gather(*(worker() for _ in range(8)))
            await quiesce(system, store)
            await wait_clock(system, await set_clock(store.js, call.id, call.sessions[0].cutoff + timedelta(days=1)))
            await quiesce(system, store)
            agenda = (await http.get(system.urls["committee"] + "/sessions/1", headers=headers)).json()["agenda"]
            for row in agenda[:20]:
                await http.post(
                    system.urls["committee"] + "/sessions/1/reviews",
                    headers=headers,
                    json={
                        "dossier_id": row["dossier_id"],
                        "member_id": call.committee.members[0].id,
                        "scores": {"diagnosis": 2, "co_construction": 2, "roadmap": 3, "free_software": None},
                    },
                )
            for row in agenda[:5]:
                await http.post(
                    system.urls["committee"] + "/sessions/1/decisions",
                    headers=headers,
                    json={
                        "dossier_id": row["dossier_id"],
                        "decision": "select",
                        "granted_cents": row["requested_cents"],
                    },
                )
            await quiesce(system, store)
        return ids
    finally:
        await nc.close()


async def measure(base: str, ids: list[str], rounds: int) -> dict[str, dict]:
    pages = {
        "/": "tableau de bord",
        "/dossiers": "dossiers (page 1)",
        "/dossiers?sort=title&order=desc&page=12": "dossiers triés, page 12",
        "/dossiers?departement=59&track=standard": "dossiers filtrés",
        "/dossiers.csv": "export CSV (1 000 lignes)",
        f"/dossiers/{ids[0]}": "un dossier",
        "/sessions": "sessions",
        "/sessions/1": "session 1 (ordre du jour)",
        "/budget": "budget",
        "/notifications": "notifications",
        "/laureates": "lauréats",
        f"/audit?dossier={ids[0]}": "audit : historique d'un dossier",
    }
    out = {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        login = await http.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
        signed = await http.post("/login", data={"_csrf_token": token, "email": ADMIN})
        assert signed.status_code in (200, 303), signed.status_code
        for path, label in pages.items():
            times = []
            for i in range(rounds + 2):
                started = time.perf_counter()
                r = await http.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                assert r.status_code == 200, (path, r.status_code)
                if i >= 2:  # two warm-up requests
                    times.append(elapsed)
            times.sort()
            out[path] = {
                "page": label,
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
                "max_ms": round(times[-1], 1),
                "bytes": len(r.content),
            }
    return out


async def run(n: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="aap-bench-console-") as tmp:
        async with System(Path(tmp), free_ports=True) as system:
            ids = await load(system, n)
            return {"dossiers": len(ids), "pages": await measure(system.urls["console"], ids, rounds)}


def table(result: dict) -> str:
    lines = [
        f"console: every page with {result['dossiers']:,} dossiers".replace(",", "\u202f"),
        "| page | p50 | p95 | max | size |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result["pages"].values():
        lines.append(
            f"| {r['page']} | {r['p50_ms']} ms | {r['p95_ms']} ms | {r['max_ms']} ms | {r['bytes'] // 1024} KiB |"
        )
    worst = max(r["p95_ms"] for r in result["pages"].values())
    lines.append(f"worst p95 {worst} ms: {'✓' if worst < TARGET_MS else '✗'} (target < {TARGET_MS:.0f} ms)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "console-results.json")
    args = parser.parse_args()
    result = asyncio.run(run(args.dossiers, args.rounds))
    print(table(result))
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
