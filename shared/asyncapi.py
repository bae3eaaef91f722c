"""The AsyncAPI document of the bus, generated from the contracts and the topology.

`python -m shared.asyncapi > docs/asyncapi.json` writes it; a test keeps the file current.
"""

from __future__ import annotations

import json
from typing import Any

from shared.events import CONTENT_TYPE, CONTRACTS, Contract
from shared.settings import Settings
from shared.topology import BINDINGS, CASE_HEADER, inbox

REF = "#/components/schemas/{model}"


def _envelope(contract: type[Contract]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [
            "id",
            "source",
            "type",
            "specversion",
            "subject",
            "time",
            "agency",
            "streamversion",
            "data",
        ],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "description": "Stable per event: a redelivery repeats it"},
            "source": {"const": f"/aduan/{contract.producer}"},
            "type": {"const": contract.event_type()},
            "subject": {"type": "string", "format": "uuid", "description": "The case id"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "agency": {"type": "string", "description": "The office (instansi) it belongs to"},
            "streamversion": {
                "type": "integer",
                "minimum": 1,
                "description": "Version of the producer's aggregate: per-case order",
            },
            "data": {"$ref": REF.format(model=contract.__name__)},
        },
    }


def document(settings: Settings | None = None) -> dict[str, Any]:
    """The AsyncAPI 2.6 document."""
    settings = settings or Settings()
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event_type, contract in sorted(CONTRACTS.items()):
        name = f"{contract.name}.v{contract.version}"
        messages[name] = {
            "name": contract.name,
            "title": event_type,
            "summary": (contract.__doc__ or "").strip(),
            "contentType": CONTENT_TYPE,
            "payload": _envelope(contract),
        }
        schema = contract.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[contract.__name__] = schema
        consumers = [s for s, keys in BINDINGS.items() if _matches(keys, contract.routing_key())]
        channels[contract.routing_key()] = {
            "description": f"Published by {contract.producer}; consumed by "
            + ", ".join(
                f"{c} (exchange {inbox(c)}, by the {CASE_HEADER!r} header)" for c in consumers
            ),
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": settings.exchange, "type": "topic", "durable": True},
                }
            },
            "subscribe": {"message": {"$ref": f"#/components/messages/{name}"}},
        }
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "Aduan events", "version": "1"},
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
    }


def _matches(keys: tuple[str, ...], routing_key: str) -> bool:
    """Whether a topic binding key matches (only the '#' and '*' forms we use)."""
    for key in keys:
        if key == "#":
            return True
        pattern, actual = key.split("."), routing_key.split(".")
        if len(pattern) == len(actual) and all(
            p in ("*", a) for p, a in zip(pattern, actual, strict=True)
        ):
            return True
    return False


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, ensure_ascii=False))
