"""Wire contracts: what crosses the bus, as CloudEvents 1.0 in structured JSON.

A contract only grows: add optional fields; a changed meaning is a new name or version.
The eventsourcing library's stored form is internal and never published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from shared.channels import Channel
from shared.sop import Kind

CONTENT_TYPE = "application/cloudevents+json"
EVENT_ID_NAMESPACE = UUID("5b0c4e62-6f1a-4f59-9d8e-2f8d2a9c1a10")
_FORMAT = JSONFormat()


class InvalidMessage(Exception):
    """A message that can never be handled: broken body, unknown type, contract violation."""


class Contract(BaseModel):
    """The data of one event type. Subclasses name the event and the service that produces it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ClassVar[str]
    version: ClassVar[int] = 1
    producer: ClassVar[str]

    @classmethod
    def event_type(cls) -> str:
        """The CloudEvents `type`, versioned."""
        return f"aduan.{cls.name}.v{cls.version}"

    @classmethod
    def routing_key(cls) -> str:
        """The topic the relay publishes it under: producer.Name.vN."""
        return f"{cls.producer}.{cls.name}.v{cls.version}"


class SubmissionReceived(Contract):
    """A complaint or consultation has been committed by intake. Never carries identity."""

    producer: ClassVar[str] = "intake"

    case_id: UUID
    tracking_code: str
    kind: Kind
    channel: Channel
    category: str | None = None
    received_at: AwareDatetime
    anonymous: bool = False
    confidential: bool = False
    complainant_ref: UUID | None = None


class ComplaintReceived(SubmissionReceived):
    """A complaint (pengaduan) was received."""

    name: ClassVar[str] = "ComplaintReceived"


class ConsultationReceived(SubmissionReceived):
    """A consultation (konsultasi) was received."""

    name: ClassVar[str] = "ConsultationReceived"


class CaseOpened(Contract):
    """Workflow opened a case for a submission; it waits at `current_step`."""

    name: ClassVar[str] = "CaseOpened"
    producer: ClassVar[str] = "workflow"

    case_id: UUID
    kind: Kind
    tracking_code: str
    channel: Channel
    category: str | None = None
    received_at: AwareDatetime
    anonymous: bool = False
    confidential: bool = False
    sop_version: str
    current_step: str


CONTRACTS: dict[str, type[Contract]] = {
    contract.event_type(): contract
    for contract in (ComplaintReceived, ConsultationReceived, CaseOpened)
}


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
        event = _FORMAT.read(None, body)
        attributes = event.get_attributes()
        contract = CONTRACTS[attributes["type"]]
        data = contract.model_validate(event.get_data())
        return Envelope(
            id=str(attributes["id"]),
            source=str(attributes["source"]),
            subject=UUID(str(attributes["subject"])),
            time=attributes["time"],
            agency=str(attributes["agency"]),
            streamversion=int(attributes["streamversion"]),
            data=data,
        )
    except KeyError as error:
        raise InvalidMessage(f"unknown event type or missing attribute: {error}") from error
    except (
        ValueError,
        TypeError,
        AttributeError,
        ValidationError,
        BaseCloudEventException,
    ) as error:
        raise InvalidMessage(f"malformed CloudEvent: {error}") from error
