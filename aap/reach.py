"""Reaching the running system from a command: NATS and the services' HTTP APIs. A command
that cannot reach one says so in one French line and exits non-zero within a few seconds,
instead of waiting minutes and printing a traceback."""

from __future__ import annotations

import sys

UNREACHABLE_EXIT = 3
NATS_HINT = "lancez d'abord `aap up`, ou donnez l'adresse du système avec --nats-url"
HTTP_HINT = "le système est-il lancé (`aap up`) ? sinon donnez l'adresse du service avec --<service>-url"


class Unreachable(Exception):
    """The system (NATS or a service) does not answer: the message says which and what to do."""


async def connect_nats(url: str, credentials=None):
    """A NATS connection (as the identity of `credentials`, an `aap_platform.natsauth.Credentials`)
    that fails within a few seconds, as `Unreachable`, when nobody answers."""
    from aap.scenario.sync import connect

    try:
        return await connect(url, credentials)
    except Exception as exc:  # noqa: BLE001 — refused, timed out, unknown host: the same answer
        raise Unreachable(f"NATS injoignable à {url} ({_why(exc)}) : {NATS_HINT}") from None


def _why(exc: BaseException) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return "pas de réponse"
    if "NoServers" in name or isinstance(exc, ConnectionRefusedError):
        return "connexion refusée"
    return "connexion impossible"


def explain(exc: BaseException) -> str | None:
    """One French line for a failure to reach the system, or None for any other error."""
    if isinstance(exc, Unreachable):
        return str(exc)
    try:
        import httpx
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, httpx.TransportError):
        url = exc.request.url if getattr(exc, "_request", None) is not None else "?"
        return f"service injoignable à {url} ({_why(exc)}) : {HTTP_HINT}"
    if isinstance(exc, (ConnectionRefusedError, TimeoutError)) or type(exc).__name__ in ("NoServersError",):
        return f"NATS injoignable ({_why(exc)}) : {NATS_HINT}"
    return None


def report(command: str, exc: BaseException) -> int | None:
    """Print the line and give the exit code, if `exc` is a failure to reach the system."""
    line = explain(exc)
    if line is None:
        return None
    print(f"aap {command} : {line}", file=sys.stderr, flush=True)
    return UNREACHABLE_EXIT
