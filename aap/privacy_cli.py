"""`aap privacy …`: a person's data erased by destroying their key (crypto-shredding); the
log stays as it was and still verifies (`aap audit verify`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from aap_contract.config import DEFAULT_CALL
from aap_platform.natsauth import find_credentials


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("privacy", help="données personnelles : identifiant d'un contact, effacement, conservation")
    actions = p.add_subparsers(dest="privacy_cmd", required=True)
    for name, help_ in (
        ("erase", "efface les données d'une personne (sa clé est détruite ; chaque vue affiche alors [effacé])"),
        ("subject", "l'identifiant pseudonyme sous lequel les données d'un contact sont chiffrées"),
    ):
        q = actions.add_parser(name, help=help_)
        q.add_argument("who", help="l'adresse électronique du contact, ou son identifiant (c-…)")
        q.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
        q.add_argument("--call", default=os.environ.get("AAP_CALL", DEFAULT_CALL))
        q.add_argument("--data-dir", type=Path, default=Path(os.environ.get("AAP_DATA_DIR", ".aap")))
        q.set_defaults(func=_run)
    r = actions.add_parser(
        "retention",
        help="jusqu'à quand les contacts sont conservés ([privacy] de l'appel) ; "
        "--erase les efface tous une fois ce délai passé",
    )
    r.add_argument(
        "--erase",
        action="store_true",
        help="une fois la durée de conservation écoulée : efface tous les contacts du journal",
    )
    r.add_argument("--now", default=None, help="instant ISO-8601 de référence (par défaut : maintenant)")
    r.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    r.add_argument("--call", default=os.environ.get("AAP_CALL", DEFAULT_CALL))
    r.add_argument("--data-dir", type=Path, default=Path(os.environ.get("AAP_DATA_DIR", ".aap")))
    r.set_defaults(func=_retention)


def _subject(call_id: str, who: str) -> str:
    from aap_platform.privacy import subject_for

    return who if who.startswith("c-") and "@" not in who else subject_for(call_id, who)


async def _run(args) -> int:
    from aap.reach import connect_nats
    from aap_contract.config import load_call
    from aap_platform.privacy import Vault

    call = load_call(args.call)
    subject = _subject(call.id, args.who)
    if args.privacy_cmd == "subject":
        print(subject)
        return 0
    # erasing destroys keys: the administrator's identity (services only make keys)
    conn = await connect_nats(args.nats_url, find_credentials(args.data_dir, "admin"))
    try:
        vault = await Vault(conn.jetstream(), call.id).open(watch=False)
        existed = await vault.erase(subject)
    finally:
        await conn.close()
    if existed:
        print(
            f"données de la personne {subject} effacées : sa clé est détruite ; ses nom, adresse et téléphone "
            "s'affichent désormais « [effacé] » partout ; le journal est inchangé (aap audit verify)"
        )
    else:
        print(f"aucune clé pour {subject} : rien à effacer (déjà effacée, ou aucune donnée de cette personne)")
    return 0


def keep_until(call):
    """The call's end (its commitment deadline) plus `[privacy] retention_years_after_end`."""
    end = call.budget.commitment_deadline.astimezone(call.tz)
    years = call.privacy.retention_years_after_end
    try:
        return end.replace(year=end.year + years)
    except ValueError:  # 29 February
        return end.replace(year=end.year + years, day=28)


async def _retention(args) -> int:
    from datetime import datetime

    from aap.audit.log import read_stream
    from aap.reach import connect_nats
    from aap_contract.config import load_call
    from aap_contract.french import french_date
    from aap_platform.privacy import SEALED, Vault
    from aap_platform.store import EventStore

    call = load_call(args.call)
    until = keep_until(call)
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(call.tz)
    # erasing destroys keys: the administrator's identity (services only make keys)
    conn = await connect_nats(args.nats_url, find_credentials(args.data_dir, "admin"))
    try:
        store = EventStore(conn.jetstream(), call.id)
        subjects = {m.group(1) for r in [r async for r in read_stream(store)] for m in SEALED.finditer(r.data.decode())}
        vault = await Vault(conn.jetstream(), call.id).open(watch=False)
        held = [s for s in sorted(subjects) if await vault.key(s) is not None]
        print(
            f"données des contacts conservées jusqu'au {french_date(until, call.tz)} "
            f"({call.privacy.retention_years_after_end} ans après la fin de l'appel) ; "
            f"{len(held)} personne{'s' if len(held) > 1 else ''} dont les données sont encore lisibles"
        )
        if not args.erase:
            return 0
        if now <= until:
            print("la durée de conservation n'est pas écoulée : rien n'est effacé")
            return 1
        for subject in held:
            await vault.erase(subject)
        print(f"{len(held)} personne{'s' if len(held) > 1 else ''} effacée{'s' if len(held) > 1 else ''}")
        return 0
    finally:
        await conn.close()
