"""`aap up` starts everything and stops it on SIGTERM; a scenario plays against that running
system (--nats-url and service URLs); a service that dies at start is named with its log."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aap.system import SERVICES, StartError, System

pytestmark = pytest.mark.e2e
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "01-eligibility.json"


def read_banner(proc: subprocess.Popen) -> dict[str, str]:
    """`aap up` prints one line per piece, then 'Ctrl-C stops everything.'"""
    urls: dict[str, str] = {}
    for line in proc.stdout:
        if line.startswith("Ctrl-C"):
            return urls
        name, *rest = line.split()
        if name in ("NATS", *SERVICES):
            urls[name] = rest[0]
    raise AssertionError(f"aap up ended early: {proc.stderr.read()}")


def test_up_serves_a_scenario_and_stops_everything_on_sigterm(tmp_path):
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "aap.cli", "up", "--free-ports", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls = read_banner(proc)
        assert set(urls) == {"NATS", *SERVICES}
        scenario = json.loads(SCENARIO.read_text())
        scenario["steps"] = scenario["steps"][:2]
        scenario["expect"] = {"steps": [{"index": 0, "ok": True}, {"index": 1, "ok": True}]}
        path = tmp_path / "two.json"
        path.write_text(json.dumps(scenario))
        argv = ["scenario", "run", str(path), "--nats-url", urls["NATS"], "--data-dir", str(data)]
        argv += [arg for name in SERVICES for arg in (f"--{name}-url", urls[name])]
        played = subprocess.run([sys.executable, "-m", "aap.cli", *argv], capture_output=True, text=True, timeout=120)
        assert played.returncode == 0, played.stderr
        assert set(json.loads(played.stdout)["dossiers"]) == {"OK-1", "KIND"}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    for name in SERVICES:
        assert "Application shutdown complete" in (data / "logs" / f"{name}.log").read_text()


async def test_a_service_that_dies_at_start_is_named_with_its_log(data_dir, nats_server):
    system = System(
        data_dir,
        nats_url=nats_server.url,
        free_ports=True,
        services=("intake",),
        app_factory="services.{name}.no_such_module:create_app",
        start_timeout=30,
    )
    with pytest.raises(StartError) as exc:
        await system.start()
    message = str(exc.value)
    assert "le service intake s'est arrêté au démarrage" in message
    assert str(data_dir / "logs" / "intake.log") in message
    assert not system.processes["intake"].alive()
