"""Each service's AsyncAPI 3.0 document: valid against the official JSON Schema of AsyncAPI
3.0.0 (shipped beside this file), its `send` operations are exactly the events the service
publishes, every message has a payload schema that accepts a real event; and the service
serves it, without a token, at GET /asyncapi.json."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from aap_contract.config import load_call
from aap_contract.envelope import Event
from aap_contract.events import (
    EVENT_TYPES,
    CreditsReserved,
    ProjectSelected,
    published_by,
)
from aap_platform.asyncapi import document
from aap_platform.codec import encode

SPEC = json.loads((Path(__file__).parent / "asyncapi" / "asyncapi-3.0.0.schema.json").read_text())
SERVICES = ("intake", "eligibility", "committee", "budget", "notifier", "connector")
CALL = load_call("hdf-itn7-axe3-2021")


def errors(doc: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SPEC)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def as_json(doc: dict) -> dict:
    return json.loads(json.dumps(doc))


def resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


@pytest.mark.parametrize("service", SERVICES)
def test_each_document_is_valid_asyncapi_3_and_sends_exactly_what_the_service_publishes(service):
    doc = as_json(document(service, CALL, consumes=["ProjectSelected"] if service == "budget" else ()))
    assert doc["asyncapi"] == "3.0.0"
    assert errors(doc) == []
    sent = [
        resolve(doc, m["$ref"])["$ref"].rsplit("/", 1)[1]
        for op in doc["operations"].values()
        if op["action"] == "send"
        for m in op["messages"]
    ]
    assert sorted(sent) == sorted(t.__name__ for t in published_by(service))
    assert sent, f"{service} publishes something"
    for name, message in doc["components"]["messages"].items():
        payload = resolve(doc, message["payload"]["$ref"])
        assert payload["properties"]["type"]["const"] == name
        assert {
            "event_id",
            "version",
            "aggregate_type",
            "aggregate_id",
            "sequence",
            "occurred_at",
            "actor",
            "prev_hash",
            "data",
        } <= set(payload["required"])
        assert message["x-aap-publisher"] in SERVICES


def test_the_validator_rejects_a_broken_document():
    doc = as_json(document("budget", CALL))
    broken = copy.deepcopy(doc)
    broken["operations"]["sendCreditsReserved"]["action"] = "publish"  # the 2.x vocabulary
    del broken["info"]["version"]
    found = errors(broken)
    assert any("operations" in e for e in found) and any("info" in e for e in found)


def test_channels_are_the_call_subjects_with_parameters_and_reactions_are_receive_operations():
    doc = as_json(document("budget", CALL, consumes=["ProjectSelected"]))
    envelope = doc["channels"]["envelope"]
    assert envelope["address"] == "aap.{call}.envelope.{aggregate_id}"
    assert envelope["parameters"]["call"]["enum"] == ["hdf-itn7-axe3-2021"]
    assert set(envelope["messages"]) == {t.__name__ for t in EVENT_TYPES if t.aggregate == "envelope"}
    react = doc["operations"]["reactProjectSelected"]
    assert react["action"] == "receive" and react["channel"] == {"$ref": "#/channels/session"}
    no_views = as_json(document("budget", CALL, views=False))
    assert {op["action"] for op in no_views["operations"].values()} == {"send"}


def test_a_real_event_matches_its_message_payload_schema():
    doc = as_json(document("budget", CALL))
    schema = {
        **resolve(doc, doc["components"]["messages"]["CreditsReserved"]["payload"]["$ref"]),
        "components": doc["components"],
    }
    event = Event(
        "e-1",
        "CreditsReserved",
        1,
        "envelope",
        CALL.call.id,
        3,
        datetime.now(UTC),
        "budget",
        "c-1",
        None,
        "0" * 64,
        CreditsReserved("d-1", 1, "s-1", 4_500_000),
    )
    instance = msgspec.json.decode(encode(event))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(instance)) == []
    instance["data"]["amount_cents"] = "beaucoup"
    instance["type"] = "ProjectSelected"
    assert len(list(jsonschema.Draft202012Validator(schema).iter_errors(instance))) == 2
    assert ProjectSelected.__name__ in doc["components"]["messages"]


async def test_the_service_serves_its_document_publicly(settings):
    from services.budget.app import create_app

    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert errors(doc) == []
    assert doc["info"]["title"].startswith("AAP — budget")
    assert "reactProjectSelected" in doc["operations"]
    assert {k for k, op in doc["operations"].items() if op["action"] == "send"} == {
        f"send{t.__name__}" for t in published_by("budget")
    }
