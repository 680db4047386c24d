"""The whole system on one machine: a nats-server (embedded unless a URL is given), the dev
signing keys, and the five services, each its own uvicorn process, logging to
`<data_dir>/logs/<name>.log`. `start()` returns when every service says it is ready."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from aap import preflight
from aap_contract.config import DEFAULT_CALL, load_call
from aap_platform.auth import ensure_dev_keys
from aap_platform.natsauth import SERVICES as PUBLISHERS
from aap_platform.natsauth import auth_dir_of, connect_as, find_credentials
from aap_platform.natsserver import EmbeddedNats, cluster_nodes, free_port
from aap_platform.provision import provision
from aap_platform.signing import ensure_event_keys, events_key_dir

SERVICES = ("intake", "eligibility", "committee", "budget", "notifier", "console")
DEFAULT_PORTS = {
    "intake": 8001,
    "eligibility": 8002,
    "committee": 8003,
    "budget": 8004,
    "notifier": 8005,
    "console": 8006,
}
OPTIONAL_PORTS = {"connector": 8007}  # run when the call configures it (optional_services)
PORTS = {**DEFAULT_PORTS, **OPTIONAL_PORTS}
DEFAULT_NATS_PORT = 4222
APP_FACTORY = "services.{name}.app:create_app"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def optional_services(call: str, services: tuple[str, ...], env: dict[str, str]) -> tuple[str, ...]:
    """The connector runs beside the five services when the call has a [connector] section and a
    Démarche Numérique token is given (without one it would have nothing to do)."""
    if services != SERVICES or not (env.get("AAP_DN_TOKEN") or env.get("AAP_DN_TOKEN_FILE")):
        return ()
    from aap_contract.config import ConfigError, load_call

    try:
        return ("connector",) if load_call(call).connector is not None else ()
    except ConfigError:
        return ()


class StartError(RuntimeError):
    """The system could not start (names the service and its log file)."""


@dataclass
class ServiceProcess:
    name: str  # the instance: the service's name, `<service>-2` for its second instance…
    host: str
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None
    service: str = ""  # the service it runs (its name when empty)

    def __post_init__(self) -> None:
        self.service = self.service or self.name

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class System:
    data_dir: Path
    call: str = DEFAULT_CALL
    nats_url: str | None = None  # None: start an embedded nats-server
    free_ports: bool = False
    host: str = "127.0.0.1"
    services: tuple[str, ...] = SERVICES
    env: dict[str, str] = field(default_factory=dict)  # passed to every service
    start_timeout: float = 60.0
    stop_timeout: float = 10.0
    app_factory: str = APP_FACTORY
    instances: int = 1  # processes per service (the second one is `<service>-2`, on its own port)
    nats_nodes: int = 1  # embedded nats-servers: more than one makes a JetStream cluster on loopback
    processes: dict[str, ServiceProcess] = field(default_factory=dict, init=False)
    nats: EmbeddedNats | None = field(default=None, init=False)  # the (first) embedded node
    nodes: list[EmbeddedNats] = field(default_factory=list, init=False)
    ports: dict[str, int] = field(default_factory=dict, init=False)  # each service's first instance
    private_key: Path | None = field(default=None, init=False)
    jwks_file: Path | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        if Path(self.call).suffix:  # a path to a TOML: the services run from the project root
            self.call = str(Path(self.call).resolve())

    @property
    def urls(self) -> dict[str, str]:
        return {name: p.url for name, p in self.processes.items()}

    async def __aenter__(self) -> System:
        return await self.start()

    async def __aexit__(self, *_exc) -> None:
        await self.stop()

    async def start(self) -> System:
        self._preflight()
        try:
            self._start_nats()
            await self._provision()
            ensure_event_keys(events_key_dir(self.data_dir), PUBLISHERS)
            self.private_key, self.jwks_file = ensure_dev_keys(self.data_dir / "keys")
            (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
            names = (*self.services, *optional_services(self.call, self.services, {**os.environ, **self.env}))
            self.ports = {name: free_port() if self.free_ports else PORTS[name] for name in names}
            for name in names:
                for k in range(1, self.instances + 1):
                    instance = instance_name(name, k)
                    port = (
                        self.ports[name] if k == 1 else free_port() if self.free_ports else PORTS[name] + 10 * (k - 1)
                    )
                    self.processes[instance] = self._spawn(instance, name, port)
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        return self

    def _preflight(self) -> None:
        """Before anything starts: the ports are free, a given NATS answers (issue 17)."""
        if self.nats_url:
            host, port = preflight.host_port(self.nats_url.split(",")[0].strip())
            if preflight.nats_info(host, port, timeout=3.0) is None:
                raise StartError(f"aucun serveur NATS ne répond à {self.nats_url} : vérifiez l'adresse (--nats-url)")
        if self.free_ports:
            return
        wanted = {} if self.nats_url else {"NATS": DEFAULT_NATS_PORT}
        wanted.update(
            {
                f"service {instance_name(name, k)}": DEFAULT_PORTS[name] + 10 * (k - 1)
                for name in self.services
                for k in range(1, self.instances + 1)
            }
        )
        busy = preflight.busy_ports(self.host, wanted)
        if busy:
            raise StartError(preflight.advice(busy))

    def _start_nats(self) -> None:
        if self.nats_url:
            return
        if self.nats_nodes > 1:
            self._start_cluster()
            return
        port = free_port() if self.free_ports else DEFAULT_NATS_PORT
        _keep_previous(self.data_dir / "nats" / "nats-server.log")
        self.nats = EmbeddedNats(
            self.data_dir / "nats", port=port, auth_dir=auth_dir_of(self.data_dir), calls=(load_call(self.call).id,)
        ).start()
        self.nodes = [self.nats]
        self.nats_url = self.nats.url
        time.sleep(0.3)  # a server that could not bind its port exits at once; a foreign one answers meanwhile
        if self.nats.proc is None or self.nats.proc.poll() is not None:
            raise StartError(
                f"le serveur NATS lancé par aap up s'est arrêté : le port {port} est pris par "
                f"{preflight.holder('127.0.0.1', port)} ; voyez {self.data_dir / 'nats' / 'nats-server.log'}"
            )

    def _start_cluster(self) -> None:
        """`nats_nodes` nats-servers routed to each other on loopback (JetStream clustered, free
        ports, one data folder each); the streams get as many replicas (AAP_NATS_REPLICAS)."""
        calls = (load_call(self.call).id,)
        for i, node in enumerate(cluster_nodes(self.nats_nodes)):
            folder = self.data_dir / f"nats-{i + 1}"
            _keep_previous(folder / "nats-server.log")
            self.nodes.append(
                EmbeddedNats(folder, auth_dir=auth_dir_of(self.data_dir), calls=calls, cluster=node).start()
            )
        self.nats = self.nodes[0]
        self.nats_url = ",".join(n.url for n in self.nodes)
        self.env.setdefault("AAP_NATS_REPLICAS", str(self.nats_nodes))

    async def _provision(self) -> None:
        """The call's streams and buckets, created by the administration identity (a cluster
        elects its JetStream leader first: retried for a few seconds)."""

        assert self.nats_url is not None
        replicas = int(self.env.get("AAP_NATS_REPLICAS", os.environ.get("AAP_NATS_REPLICAS", "1")))
        deadline = time.monotonic() + 30
        while True:
            nc = await connect_as(self.nats_url, find_credentials(self.data_dir, "admin"), connect_timeout=5)
            try:
                await provision(nc.jetstream(), load_call(self.call).id, replicas)
                return
            except Exception:
                if len(self.nodes) < 2 or time.monotonic() > deadline:
                    raise
            finally:
                await nc.close()
            await asyncio.sleep(0.5)

    # Faults (tests/chaos): a process killed as in a crash, started again as a supervisor would.

    def kill(self, instance: str) -> None:
        """SIGKILL the instance's process (no shutdown: in-flight work is lost as in a crash)."""
        proc = self.processes[instance].proc
        if proc is not None and proc.poll() is None:
            _signal(proc, signal.SIGKILL)
            proc.wait(10)

    def restart(self, instance: str) -> ServiceProcess:
        """The instance started again on its port (its previous log kept beside the new one)."""
        old = self.processes[instance]
        self.kill(instance)
        self.processes[instance] = self._spawn(instance, old.service, old.port)
        return self.processes[instance]

    def kill_nats(self, node: int = 0) -> None:
        self.nodes[node].kill()

    def start_nats(self, node: int = 0) -> None:
        """The node started again: same data folder, same port (and route port in a cluster)."""
        self.nodes[node].start()

    def _spawn(self, instance: str, name: str, port: int) -> ServiceProcess:
        ports = self.ports
        service = ServiceProcess(instance, self.host, port, self.data_dir / "logs" / f"{instance}.log", service=name)
        env = {k: v for k, v in os.environ.items() if k != "AAP_JWKS_URL"}
        env.update(
            {
                "NATS_URL": self.nats_url or "",
                "AAP_CALL": self.call,
                "AAP_DATA_DIR": str(self.data_dir),
                "AAP_JWKS_FILE": str(self.jwks_file),
                "AAP_SERVICE": name,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
            }
        )
        if name == "console":  # the console calls the other services of this system
            env.update({f"AAP_{other.upper()}_URL": f"http://{self.host}:{p}" for other, p in ports.items()})
            env.setdefault("AAP_CONSOLE_PUBLIC_URL", f"http://{self.host}:{port}")
        if name == "connector" and "intake" in ports:  # the connector submits through intake
            env["AAP_INTAKE_URL"] = f"http://{self.host}:{ports['intake']}"
        env.update(self.env)
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            self.app_factory.format(name=name),
            "--host",
            self.host,
            "--port",
            str(port),
            "--no-access-log",
        ]
        _keep_previous(service.log_path)
        with open(service.log_path, "wb") as log:  # one log per run; the previous run's kept beside it
            service.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(PROJECT_ROOT), start_new_session=True
            )
        return service

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        waiting = set(self.processes)
        async with httpx.AsyncClient(timeout=2.0) as client:
            while waiting:
                for name in sorted(waiting):
                    service = self.processes[name]
                    if not service.alive():
                        raise StartError(
                            f"le service {name} s'est arrêté au démarrage (code "
                            f"{service.proc and service.proc.returncode}) ; voyez {service.log_path}\n{service.tail()}"
                        )
                    if await _is_ready(client, service.url):
                        waiting.discard(name)
                if waiting and time.monotonic() > deadline:
                    raise StartError(
                        f"{'le service' if len(waiting) < 2 else 'les services'} {', '.join(sorted(waiting))} "
                        f"{'n’est pas prêt' if len(waiting) < 2 else 'ne sont pas prêts'} après "
                        f"{self.start_timeout:.0f} s ; voyez {self.data_dir / 'logs'}"
                    )
                if waiting:
                    await asyncio.sleep(0.05)

    def dead(self) -> list[ServiceProcess]:
        """Services whose process has ended since start."""
        return [p for p in self.processes.values() if p.proc is not None and not p.alive()]

    async def stop(self) -> None:
        await asyncio.to_thread(self._stop_processes)
        for node in self.nodes:
            await node.astop()
        self.nodes = []
        self.nats = None

    def _stop_processes(self) -> None:
        running = [p.proc for p in self.processes.values() if p.proc is not None and p.proc.poll() is None]
        for proc in running:
            _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
                proc.wait()


def instance_name(service: str, k: int) -> str:
    """The k-th instance of a service: `intake`, `intake-2`, …"""
    return service if k == 1 else f"{service}-{k}"


def _keep_previous(log: Path) -> None:
    """A log per run: the last run's is kept as `<name>.previous.log`, older ones dropped."""
    if log.is_file():
        log.replace(log.with_name(log.stem + ".previous" + log.suffix))


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


async def _is_ready(client: httpx.AsyncClient, url: str) -> bool:
    try:
        response = await client.get(url + "/health/ready")
        return response.status_code == 200 and bool(response.json().get("ready"))
    except (httpx.HTTPError, ValueError):
        return False
