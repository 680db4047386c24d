"""What `aap up` checks before and after starting anything: that every port it needs is free
(and, if not, who holds it and what to do), and that the NATS it then talks to is the very
nats-server it started (a foreign one answering on the same port would receive the call's log)."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlparse

PROBE_SECONDS = 1.0


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def nats_info(host: str, port: int, timeout: float = PROBE_SECONDS) -> dict | None:
    """The INFO a NATS server sends first on a new connection; None if what answers is not NATS."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            line = s.recv(8192).split(b"\r\n", 1)[0]
    except OSError:
        return None
    if not line.startswith(b"INFO "):
        return None
    try:
        info = json.loads(line[5:])
    except ValueError:
        return None
    return info if isinstance(info, dict) else None


def holder(host: str, port: int) -> str:
    info = nats_info(host, port)
    if info is not None:
        return f"un autre serveur NATS ({info.get('server_name') or info.get('server_id', '?')})"
    return "un autre programme"


def busy_ports(host: str, wanted: dict[str, int]) -> list[str]:
    """One French line per port already taken: which port, for what, held by whom."""
    return [
        f"le port {port} ({what}) est déjà occupé par {holder(host, port)}"
        for what, port in wanted.items()
        if not port_is_free(host, port)
    ]


def advice(lines: list[str]) -> str:
    return (
        "\n  ".join(["ports occupés :", *lines])
        + "\n  arrêtez le programme qui les occupe, ou lancez `aap up --free-ports` pour prendre des ports libres"
        + " (puis donnez à `aap demo` les adresses que `aap up` affiche)"
    )


def host_port(url: str) -> tuple[str, int]:
    first = url.split(",")[0].strip()
    parsed = urlparse(first if "://" in first else f"nats://{first}")
    return parsed.hostname or "127.0.0.1", parsed.port or 4222
