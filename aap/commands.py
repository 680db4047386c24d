"""What each `aap` command does; heavy imports happen when a command runs, not at import."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def up(args: argparse.Namespace) -> int:
    return asyncio.run(_up(args))


async def _up(args: argparse.Namespace) -> int:
    from aap.system import StartError, System

    system = System(
        args.data_dir, call=args.call, nats_url=args.nats_url or os.environ.get("NATS_URL"), free_ports=args.free_ports
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    starting = asyncio.create_task(system.start())
    waiting = asyncio.create_task(stopping.wait())
    await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        _err("arrêté avant que le système soit prêt")
        return 130
    try:
        starting.result()
    except (StartError, RuntimeError) as exc:
        _err(f"aap up : {exc}")
        return 1
    print(f"{'NATS':<12} {system.nats_url}" + ("   (lancé par aap up)" if system.nats else "   (donné)"))
    for name, url in system.urls.items():
        print(f"{name:<12} {url}   journal : {system.processes[name].log_path}")
    if "console" in system.processes and not os.environ.get("AAP_OIDC_DISCOVERY_URL"):
        print(
            "attention : aucun fournisseur OpenID configuré (AAP_OIDC_DISCOVERY_URL), la console offre une "
            f"CONNEXION LOCALE, pour le développement seulement : {system.processes['console'].url}/login"
        )
    print(f"jeton administrateur : aap token issue --role admin --subject admin --data-dir {system.data_dir}")
    print(f"horloge simulée : aap clock set 2021-04-15T10:00:00+02:00 --nats-url {system.nats_url}")
    print("Ctrl-C arrête tout.", flush=True)
    from aap import running

    running.record(system.data_dir, system.nats_url, system.urls)
    code = 0
    try:
        while not stopping.is_set():
            await asyncio.wait({waiting}, timeout=1.0)
            if dead := system.dead():
                for p in dead:
                    _err(f"le service {p.name} s'est arrêté (code {p.proc and p.proc.returncode}) ; voyez {p.log_path}")
                code = 1
                break
    finally:
        waiting.cancel()
        print("arrêt…", flush=True)
        running.forget()
        await system.stop()
    return code


def setup(args: argparse.Namespace) -> int:
    from aap_contract.config import ConfigError, load_call
    from aap_platform.natsauth import SERVICES, auth_dir_of, ensure_credentials
    from aap_platform.signing import ensure_event_keys, events_key_dir

    try:
        call = load_call(args.call)
    except ConfigError as exc:
        _err(f"aap setup: {exc}")
        return 2
    if not args.streams_only:
        ensure_credentials(auth_dir_of(args.data_dir))
        ring = ensure_event_keys(events_key_dir(args.data_dir), SERVICES, rotate=tuple(args.rotate_event_key))
        print(f"NATS identities in {auth_dir_of(args.data_dir)}; event keys and public keyring {ring}")
    if args.keys_only:
        return 0
    url = args.nats_url or os.environ.get("NATS_URL", DEFAULT_NATS_URL)
    return asyncio.run(_setup(url, call.id, args.data_dir, args.replicas))


async def _setup(url: str, call_id: str, data_dir: Path, replicas: int) -> int:
    from aap_platform.natsauth import connect_as, find_credentials
    from aap_platform.provision import provision, replica_problems

    try:
        nc = await connect_as(url, find_credentials(data_dir, "admin"), connect_timeout=5, max_reconnect_attempts=2)
    except Exception as exc:  # noqa: BLE001 — any connection failure is reported the same way
        _err(f"aap setup: cannot reach NATS at {url} as admin: {exc}")
        return 1
    try:
        store = await provision(
            nc.jetstream(), call_id, replicas, on_change=lambda change: print(f"aap setup: {change}")
        )
        problems = await store.stream_problems()
        problems += await replica_problems(nc.jetstream(), call_id, replicas)
    except Exception as exc:  # noqa: BLE001 — e.g. more replicas than the cluster has nodes
        _err(f"aap setup : la mise en place des flux de l'appel {call_id} a échoué : {exc}")
        return 1
    finally:
        await nc.close()
    for problem in problems:
        _err(f"aap setup: {problem}")
    print(f"call {call_id}: stream {store.stream} " + ("as required" if not problems else "DIFFERS (see above)"))
    return 1 if problems else 0


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from aap import preflight
    from aap.reach import NATS_HINT, UNREACHABLE_EXIT
    from aap.system import APP_FACTORY, PORTS
    from aap_platform.auth import ensure_dev_keys

    nats_url = os.environ.get("NATS_URL", DEFAULT_NATS_URL)
    if preflight.nats_info(*preflight.host_port(nats_url), timeout=3.0) is None:
        _err(f"aap serve : NATS injoignable à {nats_url} : {NATS_HINT} (variable NATS_URL)")
        return UNREACHABLE_EXIT
    if not os.environ.get("AAP_JWKS_URL") and not os.environ.get("AAP_JWKS_FILE"):
        ensure_dev_keys(Path(os.environ.get("AAP_DATA_DIR", ".aap")) / "keys")
    uvicorn.run(
        APP_FACTORY.format(name=args.service),
        factory=True,
        host=args.host,
        port=args.port or PORTS[args.service],
    )
    return 0


def token_issue(args: argparse.Namespace) -> int:
    from aap import running
    from aap_platform.auth import ensure_dev_keys, issue_token

    data_dir = running.data_dir(args.data_dir)
    if not (data_dir / "keys" / "jwt-private.pem").is_file():
        _err(
            f"aap token issue : nouvelle clé de signature créée dans {data_dir / 'keys'} ; un système lancé avec "
            "un autre dossier de données refusera ce jeton (donnez son --data-dir)"
        )
    private, _ = ensure_dev_keys(data_dir / "keys")
    print(
        issue_token(
            private, role=args.role, subject=args.subject, sirens=args.siren, member_id=args.member, ttl=args.ttl
        )
    )
    return 0


def clock(args: argparse.Namespace) -> int:
    from aap_contract.config import ConfigError, load_call

    try:
        call = load_call(args.call)
    except ConfigError as exc:
        _err(f"aap clock: {exc}")
        return 2
    instant = None
    if args.clock_command == "set":
        try:
            instant = datetime.fromisoformat(args.instant.replace("Z", "+00:00"))
        except ValueError:
            _err(f"aap clock set : {args.instant!r} n'est pas un instant ISO-8601 (ex. 2021-05-15T00:00:00+02:00)")
            return 2
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=call.tz)
    url = args.nats_url or os.environ.get("NATS_URL", DEFAULT_NATS_URL)
    return asyncio.run(_clock(url, call.id, args.clock_command, instant, args.data_dir))


async def _clock(url: str, call_id: str, command: str, instant: datetime | None, data_dir: Path) -> int:
    from aap.scenario.sync import connect
    from aap_platform.clock import bucket_name
    from aap_platform.natsauth import find_credentials

    try:
        nc = await connect(url, find_credentials(data_dir, "clock"))
    except Exception:  # noqa: BLE001 — any connection failure is reported the same way
        _err(f"aap clock : NATS injoignable à {url} : lancez d'abord `aap up`, ou donnez --nats-url")
        return 3
    try:
        return await asyncio.wait_for(_clock_do(nc.jetstream(), call_id, command, instant), 10)
    except Exception as exc:  # noqa: BLE001 — the bucket missing, or its node lost: one line, no traceback
        why = f"{type(exc).__name__}: {exc}".rstrip(": ")
        _err(
            f"aap clock : le compartiment de l'horloge {bucket_name(call_id)} ne répond pas ({why}) ; "
            "vérifiez que `aap setup` a été lancé et que les nœuds NATS qui le portent sont joignables"
        )
        return 3
    finally:
        await nc.close()


async def _clock_do(js, call_id: str, command: str, instant: datetime | None) -> int:
    from nats.js.errors import KeyNotFoundError

    from aap_platform.clock import REAL, clock_bucket, set_clock

    if command == "show":
        try:
            entry = await (await clock_bucket(js, call_id)).get("now")
            value, revision = entry.value, entry.revision
        except KeyNotFoundError:
            value, revision = REAL, 0
        shown = "real" if not value or value == REAL else value.decode()
        print(json.dumps({"call": call_id, "clock": shown, "revision": revision}))
    else:
        revision = await set_clock(js, call_id, instant)
        print(json.dumps({"call": call_id, "clock": instant.isoformat() if instant else "real", "revision": revision}))
    return 0


def scenario_run(args: argparse.Namespace) -> int:
    from aap.scenario import diff
    from aap.scenario.loader import ScenarioError, load
    from aap.scenario.runner import RunError, Target, run
    from aap.system import DEFAULT_PORTS

    try:
        scenario = load(args.file)
    except ScenarioError as exc:
        _err(f"aap scenario run: {exc}")
        return 2
    target = None
    if args.nats_url:
        urls = {
            name: getattr(args, f"{name}_url") or f"http://127.0.0.1:{port}" for name, port in DEFAULT_PORTS.items()
        }
        target = Target(
            args.nats_url, {n: u.rstrip("/") for n, u in urls.items()}, args.data_dir / "keys" / "jwt-private.pem"
        )
        if not target.private_key.is_file():
            _err(f"aap scenario run: no signing key at {target.private_key} (use the system's --data-dir)")
            return 2
    try:
        outcome = asyncio.run(run(scenario, target, timeout=args.timeout))
    except RunError as exc:
        from aap.reach import report

        code = report("scenario run", exc.__cause__) if exc.__cause__ is not None else None
        if code is not None:
            return code
        _err(f"aap scenario run: {scenario.name}: {exc}")
        return 2
    print(json.dumps(outcome, ensure_ascii=False, indent=2))
    if scenario.expect is None:
        return 0
    differences = diff.compare(scenario.expect, outcome)
    if differences:
        _err(diff.report(differences, scenario.name))
        return 1
    return 0
