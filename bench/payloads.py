"""Realistic events for the benchmarks: DossierSubmitted / DossierAmended carrying a dossier
taken from the public scenario 01-eligibility (the largest one, ~1.6 KB encoded)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import DossierAmended, DossierSubmitted
from aap_platform.codec import content_hash, encode
from aap_platform.ids import new_id
from aap_platform.store import GENESIS

SCENARIO = Path(__file__).resolve().parent.parent / "tests" / "scenarios" / "01-eligibility.json"
AT = datetime(2021, 4, 6, 9, 30, tzinfo=UTC)


def scenario_dossier() -> Dossier:
    steps = json.loads(SCENARIO.read_text())["steps"]
    dossiers = [msgspec.convert(s["dossier"], Dossier) for s in steps if s["action"] == "submit"]
    return max(dossiers, key=lambda d: len(msgspec.json.encode(d)))


def history(dossier: Dossier, dossier_id: str, n: int) -> list[Event]:
    """`n` events of one dossier aggregate: a submission, then amendments, hash-chained."""
    events, prev = [], GENESIS
    for i in range(n):
        data = (DossierSubmitted if i == 0 else DossierAmended)(dossier_id=dossier_id, dossier=dossier, session=1)
        event = Event(
            event_id=new_id(),
            type=type(data).__name__,
            version=1,
            aggregate_type="dossier",
            aggregate_id=dossier_id,
            sequence=i + 1,
            occurred_at=AT,
            actor="applicant:bench",
            correlation_id=new_id(),
            causation_id=None,
            prev_hash=prev,
            data=data,
        )
        prev = content_hash(encode(event), prev)
        events.append(event)
    return events


def raw_messages(events: list[Event]) -> list[tuple[bytes, dict[str, str]]]:
    """What EventStore.append would send, pre-encoded: payload and headers minus the
    expected-sequence check — the fair input for a raw `js.publish`."""
    out = []
    for e in events:
        payload = encode(e)
        out.append(
            (payload, {"Nats-Msg-Id": e.event_id, "Aap-Type": e.type, "Aap-Hash": content_hash(payload, e.prev_hash)})
        )
    return out
