"""What the live benchmark needs around a running System: the validate-only app as its own
process, and waits (an app up, the simulated clock seen, the system quiet)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx

from aap.system import PROJECT_ROOT, System
from aap_platform.auth import issue_token
from aap_platform.natsserver import free_port
from aap_platform.store import EventStore


def applicant_headers(system: System, sirens: list[str]) -> dict[str, str]:
    """A JSON POST's headers, with a token of an applicant acting for `sirens`."""
    token = issue_token(system.private_key, role="applicant", subject="bench", sirens=sirens)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def spawn_validate_only(system: System) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "AAP_CALL": system.call,
        "AAP_JWKS_FILE": str(system.jwks_file),
        "AAP_DATA_DIR": str(system.data_dir),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    log = open(system.data_dir / "logs" / "validate-only.log", "ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.validate_app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=str(PROJECT_ROOT),
    )
    return proc, f"http://127.0.0.1:{port}"


async def wait_up(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("validate-only app exited; see its log")
            try:
                await http.get(url + "/")
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError("validate-only app not up")


async def quiesce(system: System, store: EventStore, timeout: float = 120.0) -> None:
    """Every service has seen the whole stream and its reactor has nothing pending."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5.0) as http:
        while time.monotonic() < deadline:
            last = await store.last_sequence()
            states = [(await http.get(u + "/health/ready")).json() for u in system.urls.values()]
            if all(s["position"] >= last and s["reactor_lag"] == 0 and s.get("busy", 0) == 0 for s in states):
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("the system did not quiesce")


async def wait_clock(system: System, revision: int) -> None:
    async with httpx.AsyncClient(timeout=5.0) as http:
        for _ in range(600):
            states = [(await http.get(u + "/health/ready")).json() for u in system.urls.values()]
            if all(s["clock_revision"] >= revision for s in states):
                return
            await asyncio.sleep(0.05)
    raise RuntimeError("clock not seen by every service")
