"""The AsyncAPI 3.0 document of one service's events, built from the event contract.

Channels are the call's aggregates (`aap.<call>.<aggregate_type>.<aggregate_id>`); each
message is an event type in its envelope (aap_platform.codec.Event), its payload schema generated
from the msgspec Structs. Operations: `send` for every type the service publishes
(aap_contract.events.published_by), `receive` for the types its reactor acts on, and, for a
service with views, one `receive` per channel (views read the whole call stream)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from aap_contract.checks import checked
from aap_contract.config import CallConfig
from aap_contract.envelope import Event
from aap_contract.events import BY_NAME, EVENT_TYPES, EventData, published_by

REF = "#/components/schemas/{name}"
ENVELOPE_FIELDS = [(f.name, f.type, f.default) for f in msgspec.structs.fields(Event) if f.name != "data"]
AGGREGATES = {
    "dossier": "Un dossier de candidature (identifiant : celui du dossier).",
    "assessment": "L'instruction de l'éligibilité d'un dossier (identifiant : celui du dossier).",
    "session": "Une session du comité de sélection (identifiant : son numéro).",
    "envelope": "L'enveloppe budgétaire de l'appel (identifiant : celui de l'appel).",
    "notification": "Une notification envoyée (identifiant : celui de la notification).",
    "draft": "Un projet de programmation d'une session (identifiant : celui du projet).",
}
HEADERS = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {"type": "string", "description": "event_id: a retried append is stored once"},
        "Aap-Type": {"type": "string", "description": "the event type"},
        "Aap-Hash": {"type": "string", "description": "sha256 link of the hash chain (prev_hash + payload)"},
        "Nats-Expected-Last-Subject-Sequence": {
            "type": "string",
            "description": "optimistic concurrency: the aggregate's version",
        },
    },
    "required": ["Nats-Msg-Id", "Aap-Type", "Aap-Hash"],
}


def _envelope(t: type[EventData]) -> type:
    fields = [
        (name, typ) if default is msgspec.NODEFAULT else (name, typ, default) for name, typ, default in ENVELOPE_FIELDS
    ]
    doc = (
        f"{t.__name__} v{t.version}, published by {t.publisher} on aggregate '{t.aggregate}'; "
        f"the envelope of aap_platform.codec.Event, the event in `data`."
    )
    return msgspec.defstruct(
        f"{t.__name__}Envelope", [*fields, ("data", checked(t))], frozen=True, namespace={"__doc__": doc}
    )


def _schemas() -> dict[str, Any]:
    envelopes = [_envelope(t) for t in EVENT_TYPES]
    _, components = msgspec.json.schema_components(envelopes, ref_template=REF)
    for t in (*EVENT_TYPES, *envelopes):  # instants are RFC 3339 strings (msgspec leaves the format out)
        for f in msgspec.structs.fields(t):
            if f.type is datetime:
                components[t.__name__]["properties"][f.name]["format"] = "date-time"
    for t in EVENT_TYPES:
        props = components[f"{t.__name__}Envelope"]["properties"]
        props["type"] = {"type": "string", "const": t.__name__}
        props["version"] = {"type": "integer", "const": t.version}
        props["aggregate_type"] = {"type": "string", "const": t.aggregate}
    return components


def _message(t: type[EventData]) -> dict[str, Any]:
    return {
        "name": t.__name__,
        "title": t.__name__,
        "contentType": "application/json",
        "summary": (t.__doc__ or t.__name__).strip().splitlines()[0],
        "headers": HEADERS,
        "payload": {"$ref": REF.format(name=f"{t.__name__}Envelope")},
        "x-aap-version": t.version,
        "x-aap-publisher": t.publisher,
    }


def document(
    service: str,
    call: CallConfig,
    *,
    consumes: Iterable[type[EventData] | str] = (),
    views: bool = True,
    version: str = "1.0.0",
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of `service` for `call` (a pure function of its arguments)."""
    aggregates = list(dict.fromkeys(t.aggregate for t in EVENT_TYPES))
    channels = {
        aggregate: {
            "address": "aap.{call}." + aggregate + ".{aggregate_id}",
            "title": aggregate,
            "description": AGGREGATES.get(aggregate, aggregate),
            "parameters": {
                "call": {"description": "the call's id", "enum": [call.call.id], "default": call.call.id},
                "aggregate_id": {"description": f"the {aggregate}'s id"},
            },
            "messages": {
                t.__name__: {"$ref": f"#/components/messages/{t.__name__}"}
                for t in EVENT_TYPES
                if t.aggregate == aggregate
            },
        }
        for aggregate in aggregates
    }

    def operation(action: str, summary: str, aggregate: str, types: list[type[EventData]]) -> dict:
        return {
            "action": action,
            "summary": summary,
            "channel": {"$ref": f"#/channels/{aggregate}"},
            "messages": [{"$ref": f"#/channels/{aggregate}/messages/{t.__name__}"} for t in types],
        }

    consumed: list[type[EventData]] = [BY_NAME[t] if isinstance(t, str) else t for t in consumes]
    operations = {
        f"send{t.__name__}": operation("send", f"{service} publishes {t.__name__}", t.aggregate, [t])
        for t in published_by(service)
    }
    operations.update(
        {
            f"react{t.__name__}": operation("receive", f"the {service} reactor acts on {t.__name__}", t.aggregate, [t])
            for t in consumed
        }
    )
    if views:
        operations.update(
            {
                f"view{a.capitalize()}": operation(
                    "receive",
                    f"the {service} views read every {a} event",
                    a,
                    [t for t in EVENT_TYPES if t.aggregate == a],
                )
                for a in aggregates
            }
        )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"AAP — {service} : événements",
            "version": version,
            "description": f"Events of the call {call.call.id} ({call.call.title}) that the {service} "
            "service publishes and consumes, on NATS JetStream (one stream per call).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": {t.__name__: _message(t) for t in EVENT_TYPES}, "schemas": _schemas()},
    }
