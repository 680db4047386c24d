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
from aap.system import OPTIONAL_PORTS, SERVICES
from aap_contract.config import DEFAULT_CALL
from aap_platform.auth import ROLES

EXTENSIONS = ("aap.demo", "aap.audit", "aap.privacy_cli", "aap.connector", "aap.deploy")


def _data_dir(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(default or os.environ.get("AAP_DATA_DIR", ".aap")),
        help="dossier des clés, journaux et données NATS (par défaut : $AAP_DATA_DIR ou .aap)",
    )


def _call(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--call",
        default=os.environ.get("AAP_CALL", DEFAULT_CALL),
        help=f"identifiant de l'appel ou chemin de son TOML (par défaut : $AAP_CALL ou {DEFAULT_CALL})",
    )


def _nats(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--nats-url", default=None, help=help)


def register_up(sub) -> None:
    p = sub.add_parser("up", help="lance NATS et les cinq services ; Ctrl-C arrête tout")
    _call(p)
    _data_dir(p)
    _nats(p, "utiliser ce NATS au lieu d'un nats-server lancé par aap up (par défaut : $NATS_URL s'il est défini)")
    p.add_argument("--free-ports", action="store_true", help="prendre des ports libres au lieu de 8001-8005 et 4222")
    p.set_defaults(func=commands.up)


def register_serve(sub) -> None:
    p = sub.add_parser("serve", help="lance un service au premier plan (réglages pris dans l'environnement)")
    p.add_argument("service", choices=(*SERVICES, *OPTIONAL_PORTS))
    p.add_argument("--port", type=int, default=None, help="par défaut : le port du service (8001-8007)")
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=commands.serve)


def register_token(sub) -> None:
    p = sub.add_parser("token", help="jetons Bearer signés avec la clé locale de développement")
    issue = p.add_subparsers(dest="token_command", required=True).add_parser("issue", help="affiche un jeton JWT signé")
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--subject", required=True)
    issue.add_argument(
        "--siren", action="append", default=[], help="une structure pour laquelle agit le porteur (répétable)"
    )
    issue.add_argument("--member", default=None, help="identifiant du membre du comité (committee_member)")
    issue.add_argument("--ttl", type=int, default=12 * 3600, help="durée de validité en secondes (par défaut 12 h)")
    issue.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="dossier du système (par défaut : $AAP_DATA_DIR, sinon celui de `aap up` en cours, sinon .aap)",
    )
    issue.set_defaults(func=commands.token_issue)


def register_clock(sub) -> None:
    p = sub.add_parser("clock", help="l'horloge simulée commune à tous les services")
    actions = p.add_subparsers(dest="clock_command", required=True)
    for name, help in (
        ("set", "règle l'instant simulé"),
        ("real", "revient à l'horloge réelle"),
        ("show", "affiche l'horloge"),
    ):
        q = actions.add_parser(name, help=help)
        if name == "set":
            q.add_argument("instant", help="ISO-8601 ; sans décalage, dans le fuseau de l'appel")
        _call(q)
        _nats(q, "par défaut : $NATS_URL ou nats://127.0.0.1:4222")
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
    p = sub.add_parser("scenario", help="joue des fichiers de scénario (tests/scenarios/FORMAT.md)")
    run = p.add_subparsers(dest="scenario_command", required=True).add_parser(
        "run", help="joue un scénario, affiche son résultat ; code 1 s'il diffère de `expect`"
    )
    run.add_argument("file", type=Path)
    _nats(run, "jouer sur le système en service à ce NATS (par défaut : un système neuf, le sien)")
    for name in SERVICES:
        run.add_argument(f"--{name}-url", default=None, help="avec --nats-url (par défaut http://127.0.0.1:800x)")
    _data_dir(run)
    run.add_argument("--timeout", type=float, default=30.0, help="secondes qu'une étape peut prendre pour être traitée")
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


# argparse's own words, in French (it looks them up through its module's `_`).
ARGPARSE_FRENCH = {
    "usage: ": "usage : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "affiche cette aide et quitte",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (parmi %(choices)s)",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "expected one argument": "un argument attendu",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s) : %(value)r",
}


def _french_argparse() -> None:
    english = argparse._  # type: ignore[attr-defined]
    if getattr(english, "french", False):
        return

    def french(text: str) -> str:
        return ARGPARSE_FRENCH.get(text, english(text))

    french.french = True  # type: ignore[attr-defined]
    argparse._ = french  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    _french_argparse()
    parser = argparse.ArgumentParser(prog="aap", description="AAP : appels à projets, journal d'événements sur NATS")
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
