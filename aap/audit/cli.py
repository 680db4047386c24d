"""`aap audit …`: verify, timeline, export, replay, as-of."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

import httpx
from nats.js.errors import NotFoundError

from aap.audit.log import read_lines, read_stream, write_lines
from aap.audit.summary import as_of_summary
from aap.audit.timeline import timeline
from aap.audit.verify import KIND_LABELS, verify
from aap.reach import connect_nats
from aap.system import DEFAULT_PORTS
from aap_contract.config import DEFAULT_CALL, load_call
from aap_platform.auth import ensure_dev_keys, issue_token
from aap_platform.natsauth import find_credentials
from aap_platform.seal import seal_file
from aap_platform.signing import KEYRING, Keyring, events_key_dir
from aap_platform.store import EventStore, stream_name


def register(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="audit du journal et des vues de l'appel").add_subparsers(
        dest="audit_cmd", required=True
    )

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
        p.add_argument("--call", default=os.environ.get("AAP_CALL", DEFAULT_CALL))
        p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("AAP_DATA_DIR", ".aap")))
        return p

    v = common(
        audit.add_parser("verify", help="vérifie l'intégrité de tout le journal (chaîne de hachage, aucun trou)")
    )
    v.add_argument("--file", type=Path, help="vérifier une copie exportée plutôt que le journal en service")
    v.add_argument(
        "--keyring",
        type=Path,
        default=None,
        help="les clés publiques des services (par défaut : <data dir>/keys/events/keyring.json) ; "
        "épinglez votre propre copie",
    )
    v.add_argument(
        "--seals",
        type=Path,
        default=None,
        help="les scellés conservés hors du bus (par défaut : <data dir>/seals/<appel>.seals.jsonl)",
    )
    v.set_defaults(func=_verify)
    t = common(audit.add_parser("timeline", help="toute l'histoire d'un dossier"))
    t.add_argument("dossier")
    t.add_argument("--file", type=Path)
    t.set_defaults(func=_timeline)
    e = common(audit.add_parser("export", help="écrit tout le journal dans un fichier JSON-lines"))
    e.add_argument("file", type=Path)
    e.set_defaults(func=_export)
    for name, func, help_ in (
        ("replay", _replay, "reconstruit les vues de chaque service et les compare à celles en service"),
        ("as-of", _as_of, "les vues telles qu'elles étaient à un instant"),
    ):
        p = common(audit.add_parser(name, help=help_))
        if name == "as-of":
            p.add_argument("instant", help="instant ISO-8601 avec son décalage")
            p.add_argument(
                "--raw",
                action="store_true",
                help="l'état complet de chaque vue en JSON (données personnelles masquées)",
            )
        for service, port in DEFAULT_PORTS.items():
            p.add_argument(f"--{service}-url", default=f"http://127.0.0.1:{port}")
        p.set_defaults(func=func)


async def _records(args):
    if getattr(args, "file", None):
        return list(read_lines(args.file))
    conn = await connect_nats(args.nats_url, find_credentials(args.data_dir, "auditor"))
    try:
        store = EventStore(conn.jetstream(), load_call(args.call).id)
        return [r async for r in read_stream(store)]
    finally:
        await conn.close()


async def _verify(args) -> int:
    call = load_call(args.call)
    ring_path = args.keyring or events_key_dir(args.data_dir) / KEYRING
    keyring = Keyring.from_file(ring_path) if ring_path.exists() else None
    seals_path = args.seals or seal_file(args.data_dir / "seals", call.id)
    seals = list(read_lines(seals_path)) if seals_path.exists() else []
    try:
        records = await _records(args)
    except NotFoundError:
        print(
            f"MANQUANT : le flux {stream_name(call.id)} n'existe pas (supprimé ?) ; "
            f"{len(seals)} scellé(s) conservé(s) hors du bus"
        )
        print("0 événement vérifié ; intégrité NON VÉRIFIÉE")
        return 1
    verdict = verify(records, keyring, seals, call)
    for f in verdict.findings:
        where = f"à l'événement n° {f.seq}" if f.seq else "dans le journal"
        print(f"{KIND_LABELS.get(f.kind, f.kind)} {where} : {f.problem}")
    if keyring is None:
        print(
            f"attention : pas de trousseau de clés publiques à {ring_path} : signatures NON vérifiées", file=sys.stderr
        )
    problems = len(verdict.findings)
    print(
        f"{verdict.events} événements vérifiés"
        + (f", signatures vérifiées avec {ring_path}" if keyring else "")
        + f", {verdict.seals} scellé(s) ; empreinte du journal {verdict.digest} ; "
        + ("intégrité vérifiée" if verdict.ok else f"{problems} {'anomalie' if problems < 2 else 'anomalies'}")
    )
    return 0 if verdict.ok else 1


async def _timeline(args) -> int:
    call = load_call(args.call)
    lines = timeline(await _records(args), args.dossier, call.tz, call)
    lines = [await _revealed(args, line) for line in lines] if lines and not args.file else lines
    if not lines:
        print(f"aucun événement ne concerne le dossier {args.dossier}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


async def _revealed(args, text: str) -> str:
    """Sealed personal values shown as they are (or « [effacé] »), read from the live key bucket."""
    from aap_platform.privacy import SEALED, Vault

    if not SEALED.search(text):
        return text
    conn = await connect_nats(args.nats_url, find_credentials(args.data_dir, "auditor"))
    try:
        vault = await Vault(conn.jetstream(), load_call(args.call).id).open(watch=False)
        return await vault.reveal_text(text)
    finally:
        await conn.close()


async def _export(args) -> int:
    records = await _records(
        argparse.Namespace(nats_url=args.nats_url, call=args.call, file=None, data_dir=args.data_dir)
    )
    write_lines(records, args.file)
    print(f"{len(records)} événements écrits dans {args.file}")
    return 0


async def _views(args, params: dict) -> dict[str, list[dict]]:
    private, _ = ensure_dev_keys(args.data_dir / "keys")
    headers = {"Authorization": "Bearer " + issue_token(private, role="auditor", subject="aap-audit")}
    out = {}
    async with httpx.AsyncClient(timeout=600) as client:
        for service in DEFAULT_PORTS:
            res = await client.get(f"{getattr(args, service + '_url')}/audit/views", params=params, headers=headers)
            res.raise_for_status()
            out[service] = res.json()
    return out


async def _replay(args) -> int:
    differences = 0
    for service, rows in (await _views(args, {})).items():
        for row in rows:
            same = row["live_digest"] == row["rebuilt_digest"]
            differences += not same
            print(
                f"{service:<12} {row['view']:<24} n° {row['position']:<7} "
                + (
                    "identique"
                    if same
                    else f"DIFFÈRE : en service {row['live_digest'][:16]}, reconstruite {row['rebuilt_digest'][:16]}"
                )
            )
    print(
        "chaque vue reconstruite est identique à la vue en service"
        if not differences
        else f"{differences} {'vue diffère' if differences < 2 else 'vues diffèrent'}"
    )
    return 0 if not differences else 1


async def _as_of(args) -> int:
    instant = datetime.fromisoformat(args.instant)
    if instant.tzinfo is None:
        print("l'instant doit porter son décalage horaire, par exemple 2021-05-20T12:00:00+02:00", file=sys.stderr)
        return 2
    views = await _views(args, {"as_of": instant.isoformat(), "with_state": "true"})
    if args.raw:
        states = {s: {r["view"]: r["state"] for r in rows} for s, rows in views.items()}
        print(json.dumps(states, ensure_ascii=False, indent=2))
    else:
        print(as_of_summary(instant, views, load_call(args.call)))
    return 0
