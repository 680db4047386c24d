"""The event contract: envelope round trip, upcasting of old versions, one publisher per type."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from aap_contract.envelope import Event
from aap_contract.events import BY_NAME, EVENT_TYPES, DossierWithdrawn, published_by
from aap_platform.codec import UnknownEvent, content_hash, decode, encode
from aap_platform.ids import new_id, stable_id

AT = datetime(2021, 5, 14, 23, 59, 59, tzinfo=UTC)


def envelope(data, **over) -> Event:
    fields = dict(
        event_id=new_id(),
        type=type(data).__name__,
        version=type(data).version,
        aggregate_type=data.aggregate,
        aggregate_id="d1",
        sequence=1,
        occurred_at=AT,
        actor="intake",
        correlation_id="c",
        causation_id=None,
        prev_hash="0" * 64,
        data=data,
    )
    fields.update(over)
    return Event(**fields)


def test_round_trip_keeps_every_field_and_the_instant_timezone():
    event = envelope(DossierWithdrawn(dossier_id="d1", reason="abandon"))
    back = decode(encode(event))
    assert back == event
    assert back.occurred_at.tzinfo is not None


def test_a_v1_event_stays_readable_and_is_upcast_to_v2():
    v2 = envelope(DossierWithdrawn(dossier_id="d1", reason="x"))
    raw = msgspec.json.decode(encode(v2))
    raw["version"] = 1
    del raw["data"]["reason"]
    old = decode(msgspec.json.encode(raw))
    assert old.version == 2
    assert old.data == DossierWithdrawn(dossier_id="d1", reason="")


def test_unknown_event_type_is_reported_not_guessed():
    raw = msgspec.json.decode(encode(envelope(DossierWithdrawn("d1"))))
    raw["type"] = "SomethingNew"
    with pytest.raises(UnknownEvent):
        decode(msgspec.json.encode(raw))


def test_every_event_type_has_exactly_one_publishing_service():
    services = {"intake", "eligibility", "committee", "budget", "notifier", "connector"}
    for t in EVENT_TYPES:
        assert t.publisher in services, t
        assert t.__name__.endswith(("ed", "Sent", "Withdrawn", "Done")), f"{t.__name__}: past tense"
    assert sum(len(published_by(s)) for s in services) == len(EVENT_TYPES) == len(BY_NAME)


def test_event_ids_are_unique_and_time_ordered():
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert ids[0][:8] <= ids[-1][:8]
    assert stable_id("a", "b") == stable_id("a", "b") != stable_id("a", "c")


def test_hash_chain_link_depends_on_content_and_predecessor():
    assert content_hash(b"x", "0") != content_hash(b"y", "0")
    assert content_hash(b"x", "0") != content_hash(b"x", "1")
