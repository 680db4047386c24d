"""`aap`: the command line. Builds the parser only; each command imports what it needs when run.

Other modules add their own commands: a module listed in EXTENSIONS that exists and has a
`register(subparsers)` function (in `<module>.cli` or `<module>` itself) adds its subparser and
sets `func=handler`, where `handler(args) -> int` is the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path

from aap import commands
from aap.system import SERVICES
from aap_contract.config import DEFAULT_CALL
from aap_platform.auth import ROLES

EXTENSIONS = ("aap.demo", "aap.audit", "aap.privacy_cli", "aap.deploy")


def _data_dir(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(default or os.environ.get("AAP_DATA_DIR", ".aap")),
        help="folder of the keys, logs and NATS data (default: $AAP_DATA_DIR or .aap)",
    )


def _call(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--call",
        default=os.environ.get("AAP_CALL", DEFAULT_CALL),
        help=f"call id or path to its TOML (default: $AAP_CALL or {DEFAULT_CALL})",
    )


def _nats(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--nats-url", default=None, help=help)


def register_up(sub) -> None:
    p = sub.add_parser("up", help="start NATS and the five services; Ctrl-C stops everything")
    _call(p)
    _data_dir(p)
    _nats(p, "use this NATS instead of an embedded nats-server (default: $NATS_URL if set)")
    p.add_argument("--free-ports", action="store_true", help="pick free ports instead of 8001-8005 and 4222")
    p.set_defaults(func=commands.up)


def register_serve(sub) -> None:
    p = sub.add_parser("serve", help="run one service in the foreground (settings from the environment)")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--port", type=int, default=None, help="default: the service's port (8001-8005)")
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=commands.serve)


def register_token(sub) -> None:
    p = sub.add_parser("token", help="bearer tokens signed with the local development key")
    issue = p.add_subparsers(dest="token_command", required=True).add_parser("issue", help="print a signed JWT")
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--subject", required=True)
    issue.add_argument("--siren", action="append", default=[], help="a structure the applicant acts for (repeat)")
    issue.add_argument("--member", default=None, help="committee member id (committee_member)")
    issue.add_argument("--ttl", type=int, default=12 * 3600, help="seconds of validity (default 12 h)")
    issue.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the system's folder (default: $AAP_DATA_DIR, else that of the running `aap up`, else .aap)",
    )
    issue.set_defaults(func=commands.token_issue)


def register_clock(sub) -> None:
    p = sub.add_parser("clock", help="the simulated clock shared by every service")
    actions = p.add_subparsers(dest="clock_command", required=True)
    for name, help in (
        ("set", "set the simulated instant"),
        ("real", "back to the real clock"),
        ("show", "print the clock"),
    ):
        q = actions.add_parser(name, help=help)
        if name == "set":
            q.add_argument("instant", help="ISO-8601; without an offset, in the call's timezone")
        _call(q)
        _nats(q, "default: $NATS_URL or nats://127.0.0.1:4222")
        _data_dir(q)
        q.set_defaults(func=commands.clock)


def register_setup(sub) -> None:
    p = sub.add_parser(
        "setup",
        help="as the administrator: create the call's streams and buckets, the NATS identities "
        "and the services' event-signing keys (what `aap up` does before starting the services)",
    )
    _call(p)
    _data_dir(p)
    _nats(p, "default: $NATS_URL or nats://127.0.0.1:4222")
    p.add_argument("--replicas", type=int, default=int(os.environ.get("AAP_NATS_REPLICAS", "1")))
    p.add_argument("--keys-only", action="store_true", help="only the credentials and keys (no NATS needed)")
    p.add_argument(
        "--streams-only", action="store_true", help="only the streams and buckets (credentials given, e.g. in compose)"
    )
    p.add_argument(
        "--rotate-event-key", action="append", default=[], choices=SERVICES, help="replace this service's signing key"
    )
    p.set_defaults(func=commands.setup)


def register_scenario(sub) -> None:
    p = sub.add_parser("scenario", help="play scenario files (tests/scenarios/FORMAT.md)")
    run = p.add_subparsers(dest="scenario_command", required=True).add_parser(
        "run", help="play a scenario; prints its outcome; exit 1 when it differs from `expect`"
    )
    run.add_argument("file", type=Path)
    _nats(run, "play against the running system on this NATS (default: a fresh system of its own)")
    for name in SERVICES:
        run.add_argument(f"--{name}-url", default=None, help="with --nats-url (default http://127.0.0.1:800x)")
    _data_dir(run)
    run.add_argument("--timeout", type=float, default=30.0, help="seconds a step may take to settle")
    run.set_defaults(func=commands.scenario_run)


COMMANDS: list[Callable] = [
    register_up,
    register_setup,
    register_serve,
    register_token,
    register_clock,
    register_scenario,
]


def _extensions(sub) -> None:
    for name in EXTENSIONS:
        for module_name in (f"{name}.cli", name):
            try:
                found = importlib.util.find_spec(module_name) is not None
            except ModuleNotFoundError:
                found = False
            register = getattr(importlib.import_module(module_name), "register", None) if found else None
            if register is not None:
                register(sub)
                break


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aap", description="AAP: appels à projets, event-sourced on NATS")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    _extensions(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
        if inspect.iscoroutine(result):  # an extension's handler may be a coroutine function
            result = asyncio.run(result)
        return result
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from aap.reach import report

        code = report(args.command, exc)
        if code is None:
            raise
        return code


if __name__ == "__main__":
    sys.exit(main())
