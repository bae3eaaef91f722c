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
    from_mapping,
    seal,
)
from shared.events.intake import (
    ComplainantReplied,
    ComplaintImported,
    ComplaintReceived,
    ConsultationImported,
    ConsultationReceived,
    DispositionReceived,
    MessageAdded,
    MessageEdited,
    MessageWithdrawn,
    PersonalDataErased,
    ResolutionConfirmed,
    ResolutionDisputed,
    SubmissionImported,
    SubmissionReceived,
)
from shared.events.reporting import RekapPublished
from shared.events.workflow import (
    CaseDataErased,
    CaseEvent,
    CaseImported,
    CaseOpened,
    StepCompleted,
)

__all__ = [
    "CONTENT_TYPE",
    "CONTRACTS",
    "CaseDataErased",
    "CaseEvent",
    "CaseImported",
    "CaseOpened",
    "ComplainantReplied",
    "ComplaintImported",
    "ComplaintReceived",
    "ConsultationImported",
    "ConsultationReceived",
    "Contract",
    "DispositionReceived",
    "Envelope",
    "InvalidMessage",
    "MessageAdded",
    "MessageEdited",
    "MessageWithdrawn",
    "PersonalDataErased",
    "RekapPublished",
    "ResolutionConfirmed",
    "ResolutionDisputed",
    "StepCompleted",
    "SubmissionImported",
    "SubmissionReceived",
    "decode",
    "encode",
    "from_mapping",
    "seal",
]
