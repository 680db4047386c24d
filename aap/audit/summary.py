"""`aap audit as-of`, read by a person: what the call looked like at an instant, in French,
from the views rebuilt up to it (the raw states are behind `--raw`)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from aap_contract.config import CallConfig
from aap_contract.french import french_date
from aap_contract.lifecycle import STATUSES, status_label
from aap_contract.money import format_euros

KINDS = {"individual": "individuelles", "collective": "collectives", "lapse": "de caducité"}


def _state(views: dict[str, list[dict]], service: str) -> dict[str, Any]:
    rows = views.get(service) or [{}]
    return rows[0].get("state") or {}


def as_of_summary(instant: datetime, views: dict[str, list[dict]], call: CallConfig) -> str:
    when = f"{french_date(instant, call.tz)} à {instant.astimezone(call.tz):%H:%M}"
    out = [f"L'appel « {call.call.title} » au {when} (vues reconstruites depuis le journal) :", ""]
    for service, rows in views.items():
        for row in rows:
            out.append(f"  {service:<12} vue {row['view']:<24} événements lus : jusqu'au n° {row['position']}")
    entries = (_state(views, "intake").get("index") or {}).get("entries") or {}
    counts = Counter(e.get("status") for e in entries.values())
    out += ["", f"Dossiers déposés : {len(entries)}"]
    out += [f"  {counts[s]:>4}  {status_label(s, counts[s])}" for s in STATUSES if counts[s]]
    envelope = _state(views, "budget").get("envelope") or {}
    if envelope:
        reserved = sum(r["amount_cents"] for r in (envelope.get("reservations") or {}).values())
        committed = sum(r["amount_cents"] for r in (envelope.get("committed") or {}).values())
        total = envelope.get("envelope_cents", 0)
        out += ["", "Budget :"]
        out += [
            f"  {label:<11} {format_euros(value):>16}"
            for label, value in (
                ("enveloppe", total),
                ("réservé", reserved),
                ("engagé", committed),
                ("disponible", total - reserved - committed),
            )
        ]
    sessions = _state(views, "committee").get("sessions") or {}
    if sessions:
        out += ["", "Sessions du comité :"]
        for number, session in sorted(sessions.items(), key=lambda kv: int(kv[0])):
            state = "close" if session.get("closed") else "ouverte ou à venir"
            decided = len(session.get("decisions") or {})
            out.append(f"  session {number} : {state}, {decided} décision{'s' if decided > 1 else ''}")
    sent = (_state(views, "notifier").get("sent") or {}).values()
    if sent:
        kinds = Counter(n.get("kind") for n in sent)
        out += [
            "",
            "Notifications envoyées : " + ", ".join(f"{n} {KINDS.get(k, k)}" for k, n in sorted(kinds.items())),
        ]
    out += ["", "(l'état complet de chaque vue : --raw ; les données personnelles y sont masquées)"]
    return "\n".join(out)
