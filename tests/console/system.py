"""A whole system for the console's browser tests: `aap up --free-ports` as a process (the six
services, an embedded nats-server), loaded with the first dossiers of the demonstration call and
its clock moved past the first relevé, so that session 1 is open with an undecided agenda."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx

from aap.system import SERVICES
from aap_platform.auth import issue_token
from tests.pdf import tiny_pdf

DOSSIERS = 3  # eligible dossiers of session 1 put on its agenda
PDF = tiny_pdf("the first one's")


def read_banner(proc: subprocess.Popen) -> dict[str, str]:
    urls: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Ctrl-C"):
            return urls
        name, *rest = line.split()
        if name in ("NATS", *SERVICES):
            urls[name] = rest[0]
    raise RuntimeError(f"aap up ended early: {proc.stderr.read() if proc.stderr else ''}")


def start(data: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aap.cli", "up", "--free-ports", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        return proc, read_banner(proc)
    except BaseException:
        stop(proc)
        raise


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def load(urls: dict[str, str], data: Path) -> list[dict]:
    """Play the demonstration's first eligible submissions of session 1, then move the clock a day
    past its relevé; the dossiers filed (ref, title, amounts)."""
    from aap.demo_data import PROJECTS, build
    from aap.scenario.loader import parse
    from aap.scenario.runner import Target, play
    from aap.scenario.sync import Quiescence, connect
    from aap_contract.config import load_call
    from aap_platform.natsauth import find_credentials

    call = load_call()
    raw, dossiers = build(call)
    wanted = [p.ref for p in PROJECTS if p.session == 1 and p.fate in ("select", "reject", "lapse")][:DOSSIERS]
    raw = {**raw, "steps": [s for s in raw["steps"] if s["action"] == "submit" and s["ref"] in wanted], "expect": {}}
    services = {n: u for n, u in urls.items() if n not in ("NATS", "console")}
    target = Target(urls["NATS"], {**services, "console": urls["console"]}, data / "keys" / "jwt-private.pem")
    await play(parse(raw, "console tests"), target, timeout=60)
    first = dossiers[wanted[0]]["title"]
    token = issue_token(target.private_key, role="instructor", subject="console-tests")
    async with httpx.AsyncClient(timeout=30, headers={"authorization": f"Bearer {token}"}) as client:
        listed = (await client.get(urls["intake"] + "/dossiers")).json()["items"]
        dossier_id = next(d["dossier_id"] for d in listed if d["title"] == first)
        uploaded = await client.put(
            f"{urls['intake']}/dossiers/{dossier_id}/document",
            params={"filename": "projet.pdf"},
            content=PDF,
            headers={"content-type": "application/pdf"},
        )
        uploaded.raise_for_status()
    nc = await connect(urls["NATS"], find_credentials(data, "clock"))  # the clock's identity moves it
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            sync = Quiescence(client, target.urls, nc.jetstream(), call.id, timeout=60)
            await sync.move_clock(call.sessions[0].cutoff + timedelta(days=1))
            await sync.settle()
    finally:
        await nc.close()
    return [
        {
            "ref": ref,
            "title": dossiers[ref]["title"],
            "requested_cents": dossiers[ref]["financing"]["requested_cents"],
            "global_cost_cents": dossiers[ref]["financing"]["global_cost_cents"],
        }
        for ref in wanted
    ]


def start_loaded(data: Path) -> tuple[subprocess.Popen, dict[str, str], list[dict]]:
    proc, urls = start(data)
    try:
        return proc, urls, asyncio.run(load(urls, data))
    except BaseException:
        stop(proc)
        raise


if __name__ == "__main__":  # by hand: python -m tests.console.system /tmp/folder
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/aap-console")
    process, found, filed = start_loaded(folder)
    print(found["console"], [d["title"] for d in filed], flush=True)
    try:
        process.wait()
    except KeyboardInterrupt:
        stop(process)
