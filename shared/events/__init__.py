"""Wire contracts: what crosses the bus, as CloudEvents 1.0 in structured JSON.

A contract only grows: add optional fields; a changed meaning is a new name or version.
The eventsourcing library's stored form is internal and never published.
"""

from shared.events.envelope import (
    CONTENT_TYPE,
    CONTRACTS,
    Contract,
    Envelope,
    InvalidMessage,
    decode,
    encode,
    seal,
)
from shared.events.intake import (
    ComplaintReceived,
    ConsultationReceived,
    MessageAdded,
    PersonalDataErased,
    SubmissionReceived,
)
from shared.events.workflow import CaseDataErased, CaseEvent, CaseOpened, StepCompleted

__all__ = [
    "CONTENT_TYPE",
    "CONTRACTS",
    "CaseDataErased",
    "CaseEvent",
    "CaseOpened",
    "ComplaintReceived",
    "ConsultationReceived",
    "Contract",
    "Envelope",
    "InvalidMessage",
    "MessageAdded",
    "PersonalDataErased",
    "StepCompleted",
    "SubmissionReceived",
    "decode",
    "encode",
    "seal",
]
