"""The envelope: CloudEvents 1.0 in structured JSON, and the base every contract extends."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Union
from uuid import UUID, uuid5

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from dateutil.parser import isoparse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
)

CONTENT_TYPE = "application/cloudevents+json"
EVENT_ID_NAMESPACE = UUID("5b0c4e62-6f1a-4f59-9d8e-2f8d2a9c1a10")
_FORMAT = JSONFormat()


CONTRACTS: dict[str, type[Contract]] = {}
"""Every concrete contract by its CloudEvents type; filled as contracts are defined."""


class InvalidMessage(Exception):
    """A message that can never be handled: broken body, unknown type, contract violation."""


class Contract(BaseModel):
    """The data of one event type. Subclasses name the event and the service that produces it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ClassVar[str]
    version: ClassVar[int] = 1
    producer: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a concrete contract, not a shared base
            CONTRACTS[cls.event_type()] = cls

    def get(self, field: str, default: Any = None) -> Any:
        """Its field `field`, or `default` when its contract has none (for code that reads any
        contract). Read from the fields themselves: `getattr` with a default goes through
        pydantic's slow path for a missing attribute, which a projection would pay per event."""
        return self.__dict__.get(field, default)

    @classmethod
    def event_type(cls) -> str:
        """The CloudEvents `type`, versioned."""
        return f"aduan.{cls.name}.v{cls.version}"

    @classmethod
    def routing_key(cls) -> str:
        """The topic the relay publishes it under: producer.Name.vN."""
        return f"{cls.producer}.{cls.name}.v{cls.version}"


@dataclass(frozen=True)
class Envelope:
    """One event on the bus: the CloudEvents attributes we use and the typed data."""

    id: str
    source: str
    subject: UUID
    time: datetime
    agency: str
    streamversion: int
    data: Contract

    @property
    def type(self) -> str:
        """The CloudEvents type of the data."""
        return self.data.event_type()


def seal(data: Contract, *, subject: UUID, version: int, time: datetime, agency: str) -> Envelope:
    """Wrap contract data for the bus; the id is stable, so a re-publish is a duplicate."""
    source = f"/aduan/{data.producer}"
    event_id = uuid5(EVENT_ID_NAMESPACE, f"{source}/{subject}/{version}")
    return Envelope(str(event_id), source, subject, time, agency, version, data)


def encode(envelope: Envelope) -> bytes:
    """The structured-mode CloudEvents JSON of an envelope."""
    attributes: dict[str, Any] = {
        "id": envelope.id,
        "source": envelope.source,
        "type": envelope.type,
        "specversion": "1.0",
        "subject": str(envelope.subject),
        "time": envelope.time,
        "datacontenttype": "application/json",
        "agency": envelope.agency,
        "streamversion": envelope.streamversion,
    }
    event = CloudEvent(attributes=attributes, data=envelope.data.model_dump(mode="json"))
    body: bytes = _FORMAT.write(event)
    return body


def decode(body: bytes) -> Envelope:
    """Parse and validate a structured CloudEvent; InvalidMessage says why it cannot be."""
    try:
        parsed = json.loads(body)
    except (ValueError, TypeError) as error:
        raise InvalidMessage(f"malformed CloudEvent: {error}") from error
    return from_mapping(parsed)


def _timestamp(text: Any) -> datetime:
    """An RFC 3339 timestamp: the standard library's parser (ours write these), dateutil's for
    the other ISO 8601 forms a producer may send."""
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return isoparse(text)


class _Attributes(BaseModel):
    """The CloudEvents attributes an envelope is made of, as a reader checks them: the required
    ones (`specversion`, `id`, `source`, `type`), a timezone-aware `time`, and our extensions.
    Validated by pydantic-core in one call; building the cloudevents library's object to check
    them cost a third of decoding an event, for an object nothing reads (a rebuild decodes
    every event there is). Unknown extensions are ignored, as a consumer should."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1)]
    source: Annotated[str, Field(min_length=1)]
    type: str
    subject: UUID
    time: AwareDatetime
    agency: str
    streamversion: int
    data: Any = None


def from_mapping(parsed: Any) -> Envelope:
    """Validate an already parsed structured CloudEvent (e.g. one of a feed page)."""
    try:
        if "time" in parsed:
            parsed = {**parsed, "time": _timestamp(parsed["time"])}
        attributes = _Attributes.model_validate(parsed)
        contract = CONTRACTS[attributes.type]
        return Envelope(
            id=attributes.id,
            source=attributes.source,
            subject=attributes.subject,
            time=attributes.time,
            agency=attributes.agency,
            streamversion=attributes.streamversion,
            data=contract.model_validate(attributes.data),
        )
    except KeyError as error:
        raise InvalidMessage(f"unknown event type or missing attribute: {error}") from error
    except (ValueError, TypeError, AttributeError, ValidationError) as error:
        raise InvalidMessage(f"malformed CloudEvent: {error}") from error


def envelope_of(validated: Any) -> Envelope:
    """The envelope of an event validated as one of `wire_event()`."""
    v = validated
    return Envelope(v.id, v.source, v.subject, v.time, v.agency, v.streamversion, v.data)


def _type_of(value: Any) -> Any:
    return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)


@functools.cache
def wire_event() -> Any:
    """A structured CloudEvent of any contract as a pydantic type, checked as `from_mapping`
    checks one (a model per contract, chosen by `type`): for pydantic-core to read many in
    one pass over the JSON text (`shared.feed.decode_page`). Made when first needed."""
    members = [
        Annotated[
            create_model(f"Wire_{contract.__name__}", __base__=_Attributes, data=(contract, ...)),
            Tag(event_type),
        ]
        for event_type, contract in CONTRACTS.items()
    ]
    return Annotated[Union[tuple(members)], Discriminator(_type_of)]  # noqa: UP007
