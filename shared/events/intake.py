"""What intake publishes: a submission was received. Never identity, never the text."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.channels import Channel
from shared.events.envelope import Contract
from shared.sop import Kind


class SubmissionReceived(Contract):
    """A complaint or consultation was committed by intake."""

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


class SurveySubmitted(Contract):
    """The complainant rated the service after closure: the nine SKM elements, 1 to 4."""

    name: ClassVar[str] = "SurveySubmitted"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    at: AwareDatetime
    scores: list[int] = Field(min_length=9, max_length=9)


class MessageAdded(Contract):
    """The complainant wrote again in the same conversation (a chat burst, a mail reply).

    What they wrote stays in intake, sealed; officers read it through intake's API.
    """

    name: ClassVar[str] = "MessageAdded"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    channel: Channel
    received_at: AwareDatetime
    attachments: int = 0


class PersonalDataErased(Contract):
    """An administrator erased the complainant's personal data: every service forgets it.

    The case still counts; its identity and words read "data dihapus" from now on.
    """

    name: ClassVar[str] = "PersonalDataErased"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    erased_at: AwareDatetime
