"""`aap connector`: `describe <number>` prints a démarche's champs (id, label, type) to write the
call's mapping; `sync --once` runs one pass of the DN sync and of the write-backs, then prints a
French summary. DN's token comes from AAP_DN_TOKEN or AAP_DN_TOKEN_FILE (never printed)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def register(sub) -> None:
    from aap.cli import _call, _data_dir, _nats

    p = sub.add_parser(
        "connector", help="Démarche Numérique : décrire une démarche, faire un passage de synchronisation"
    )
    actions = p.add_subparsers(dest="connector_command", required=True)
    describe = actions.add_parser("describe", help="affiche les champs d'une démarche (identifiant, type, libellé)")
    describe.add_argument("number", type=int, help="le numéro de la démarche")
    sync = actions.add_parser("sync", help="un passage : importe les dossiers changés dans DN, y reporte les décisions")
    sync.add_argument("--once", action="store_true", required=True, help="un seul passage, puis s'arrête")
    sync.add_argument(
        "--intake-url",
        default=os.environ.get("AAP_INTAKE_URL", "http://127.0.0.1:8001"),
        help="l'API d'intake (par défaut : $AAP_INTAKE_URL ou http://127.0.0.1:8001)",
    )
    for q in (describe, sync):
        _call(q)
        _data_dir(q)
        _nats(q, "par défaut : $NATS_URL ou nats://127.0.0.1:4222")
    describe.set_defaults(func=run_describe)
    sync.set_defaults(func=run_sync)


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _setup(args: argparse.Namespace):
    from aap_contract.config import ConfigError, load_call
    from services.connector.settings import ConnectorSettings

    try:
        call = load_call(args.call)
    except ConfigError as exc:
        _err(f"aap connector : {exc}")
        return None
    if call.connector is None:
        _err(f"aap connector : l'appel {call.id} n'a pas de section [connector]")
        return None
    own = ConnectorSettings.from_env(call.connector, Path(args.data_dir))
    if own.dn_token is None:
        _err("aap connector : aucun jeton Démarche Numérique (AAP_DN_TOKEN ou AAP_DN_TOKEN_FILE)")
        return None
    return call, own


def run_describe(args: argparse.Namespace) -> int:
    found = _setup(args)
    if found is None:
        return 2
    call, own = found
    return asyncio.run(_describe(own, call.connector.requests_per_minute, args.number))


def _descriptor_lines(descriptors: list[dict], indent: str = "") -> list[str]:
    lines = []
    for d in descriptors:
        kind = d.get("__typename", "").removesuffix("ChampDescriptor")
        required = " (obligatoire)" if d.get("required") else ""
        lines.append(f"{indent}{d.get('id')}  {kind:<20} {d.get('label')}{required}")
        for option in d.get("options") or ():
            lines.append(f"{indent}    · {option}")
        lines += _descriptor_lines(d.get("champDescriptors") or [], indent + "    ")
    return lines


async def _describe(own, rpm: int, number: int) -> int:
    from services.connector.client import DnClient, DnError

    client = DnClient(own.dn_url, own.dn_token, requests_per_minute=rpm, patience=60)
    try:
        data = await client.query("demarche", "DemarcheDescription", {"number": number})
    except DnError as exc:
        _err(f"aap connector describe : {exc}")
        return 1
    finally:
        await client.close()
    d = data.get("demarche") or {}
    revision = d.get("activeRevision") or {}
    print(f"Démarche {d.get('number')} — {d.get('title')} ({d.get('state')})")
    print("\nChamps (id, type, libellé) :")
    print("\n".join(_descriptor_lines(revision.get("champDescriptors") or [], "  ")))
    print("\nAnnotations privées :")
    print("\n".join(_descriptor_lines(revision.get("annotationDescriptors") or [], "  ")))
    print("\nGroupes instructeurs et instructeurs (id) :")
    for g in d.get("groupeInstructeurs") or ():
        print(f"  {g.get('label')}{' (fermé)' if g.get('closed') else ''}")
        for i in g.get("instructeurs") or ():
            print(f"    {i.get('id')}  {i.get('email')}")
    return 0


def run_sync(args: argparse.Namespace) -> int:
    found = _setup(args)
    if found is None:
        return 2
    call, own = found
    url = args.nats_url or os.environ.get("NATS_URL", DEFAULT_NATS_URL)
    return asyncio.run(_sync(call, own, url, args.intake_url, Path(args.data_dir)))


async def _sync(call, own, nats_url: str, intake_url: str, data_dir: Path) -> int:
    from aap_platform.guard import Guard
    from aap_platform.natsauth import connect_as, find_credentials
    from aap_platform.projection import Projection
    from aap_platform.signing import KEYRING, Keyring, Signer, events_key_dir, private_key_file
    from aap_platform.store import EventStore
    from services.connector.client import DnClient, DnError
    from services.connector.consumers import CONSUMES
    from services.connector.cursor import Cursors
    from services.connector.handlers import Handlers
    from services.connector.intake import IntakeClient, IntakeUnavailable
    from services.connector.settings import IntakeToken
    from services.connector.sync import Sync

    try:
        # as the connector service itself: its NATS identity, its signing key, the services' keyring
        nc = await connect_as(nats_url, find_credentials(data_dir, "connector"), max_reconnect_attempts=1)
    except Exception as exc:  # noqa: BLE001 — any connection failure is reported the same way
        _err(f"aap connector sync : NATS injoignable à {nats_url} : {exc}")
        return 1
    js = nc.jetstream()
    keys = events_key_dir(data_dir)
    key = private_key_file(keys, "connector")
    store = EventStore(js, call.id, signer=Signer.from_file("connector", key) if key.exists() else None)
    ring = keys / KEYRING
    store.guard = Guard("connector", call, Keyring.from_file(ring) if ring.exists() else None)
    dn = DnClient(own.dn_url, own.dn_token, requests_per_minute=call.connector.requests_per_minute, patience=600)
    intake = IntakeClient(intake_url, IntakeToken(own))
    handlers = Handlers(lambda: store, call, lambda: datetime.now().astimezone(), lambda: dn)
    try:
        await store.ensure_stream()
        summary = await Sync(call, dn, intake, handlers, Cursors(js, call.id)).run_once()

        # the write-backs the facts call for (those a running connector did are recorded: skipped)
        def keep(seen: list, event):
            seen.append(event)
            return seen

        facts: Projection[list] = Projection("connector-once", list, keep, types=frozenset(CONSUMES))
        facts.guard = store.guard
        await facts.start(store)
        await facts.ready.wait()
        await facts.stop()
        for event in facts.state:
            if event.type == "EligibilityAssessed":
                summary.written_back += await handlers.write_back_assessment(event)
            else:
                summary.written_back += await handlers.write_back_session(event)
    except (DnError, IntakeUnavailable) as exc:
        _err(f"aap connector sync : {exc}")
        return 1
    finally:
        await dn.close()
        await intake.close()
        await nc.close()
    print(summary.french())
    return 0
