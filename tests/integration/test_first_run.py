"""A first run that tells the truth (issue 17): a busy port is named with who holds it and what
to do, a foreign nats-server is never taken for the embedded one, an unreachable system is one
French line and a non-zero exit within seconds."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from aap import preflight
from aap import system as system_module
from aap.system import StartError, System
from aap_platform.natsserver import free_port


@pytest.fixture
def squatter():
    """A program that is not NATS, listening on a port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


def test_a_busy_port_is_named_with_its_holder(nats_server, squatter):
    lines = preflight.busy_ports("127.0.0.1", {"NATS": nats_server.port, "service intake": squatter})
    assert lines == [
        f"le port {nats_server.port} (NATS) est déjà occupé par un autre serveur NATS "
        f"({preflight.nats_info('127.0.0.1', nats_server.port)['server_name']})",
        f"le port {squatter} (service intake) est déjà occupé par un autre programme",
    ]
    assert preflight.busy_ports("127.0.0.1", {"NATS": free_port()}) == []


async def test_aap_up_refuses_a_busy_nats_port_before_starting_anything(tmp_path, nats_server, monkeypatch):
    """A foreign nats-server on the NATS port: nothing is started, nothing written into it."""
    monkeypatch.setattr(system_module, "DEFAULT_NATS_PORT", nats_server.port)
    monkeypatch.setattr(system_module, "DEFAULT_PORTS", {name: free_port() for name in system_module.SERVICES})
    started = time.monotonic()
    with pytest.raises(StartError) as exc:
        await System(tmp_path).start()
    message = str(exc.value)
    assert f"le port {nats_server.port} (NATS) est déjà occupé par un autre serveur NATS" in message
    assert "--free-ports" in message and time.monotonic() - started < 5
    assert not (tmp_path / "logs").exists()  # no service was started


async def test_a_given_nats_that_does_not_answer_is_said_at_once(tmp_path):
    with pytest.raises(StartError) as exc:
        await System(tmp_path, nats_url=f"nats://127.0.0.1:{free_port()}", free_ports=True).start()
    assert "aucun serveur NATS ne répond" in str(exc.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "verify"],
        ["audit", "timeline", "d-1"],
        ["audit", "export", "log.jsonl"],
        ["clock", "show"],
    ],
)
def test_a_command_without_nats_says_so_in_one_french_line(argv, tmp_path):
    url = f"nats://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "aap.cli", *argv, "--nats-url", url],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert result.returncode == 3 and time.monotonic() - started < 10
    assert result.stderr.strip().count("\n") == 0 and "NATS injoignable" in result.stderr, result.stderr


@pytest.mark.parametrize("argv", [["audit", "replay"], ["audit", "as-of", "2021-05-20T12:00:00+02:00"]])
def test_a_command_without_services_says_so_in_one_french_line(argv, tmp_path):
    port = free_port()
    urls = [arg for name in system_module.SERVICES for arg in (f"--{name}-url", f"http://127.0.0.1:{port}")]
    result = subprocess.run(
        [sys.executable, "-m", "aap.cli", *argv, *urls, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "service injoignable" in result.stderr
