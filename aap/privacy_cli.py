"""`aap privacy …`: a person's data erased by destroying their key (crypto-shredding); the
log stays as it was and still verifies (`aap audit verify`)."""

from __future__ import annotations

import argparse
import os

from aap_contract.config import DEFAULT_CALL


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("privacy", help="personal data: who a contact is, erase a contact's data")
    actions = p.add_subparsers(dest="privacy_cmd", required=True)
    for name, help_ in (
        ("erase", "erase a contact person's data (destroys their key; every view then shows [effacé])"),
        ("subject", "the pseudonymous id under which a contact's data is sealed"),
    ):
        q = actions.add_parser(name, help=help_)
        q.add_argument("who", help="the contact's e-mail address, or their subject id (c-…)")
        q.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
        q.add_argument("--call", default=os.environ.get("AAP_CALL", DEFAULT_CALL))
        q.set_defaults(func=_run)


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
    conn = await connect_nats(args.nats_url)
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
