"""What intake publishes: a submission was received. Never identity, never the text."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.channels import Channel
from shared.events.envelope import Contract
from shared.events.opening import Opening


class SubmissionReceived(Opening):
    """A complaint or consultation was committed by intake."""

    producer: ClassVar[str] = "intake"

    complainant_ref: UUID | None = None


class ComplaintReceived(SubmissionReceived):
    """A complaint (pengaduan) was received."""

    name: ClassVar[str] = "ComplaintReceived"


class ConsultationReceived(SubmissionReceived):
    """A consultation (konsultasi) was received."""

    name: ClassVar[str] = "ConsultationReceived"


class SubmissionImported(Opening):
    """A case from the office's old register (buku register) was brought in by intake.

    Not a ComplaintReceived: the dates are the register's, and the case may be closed already.
    The text and any identity columns stay in intake, sealed, as for every submission.
    """

    producer: ClassVar[str] = "intake"

    source_channel: str | None = None  # the register's own channel label, as written
    source_category: str | None = None  # the register's own category label, as written
    outcome: Literal["resolved", "rejected"] | None = None  # None: still open
    closed_at: AwareDatetime | None = None  # None when open, or closed on an unknown date
    register_ref: str | None = None  # the register's own number, if it had one
    complainant_ref: UUID | None = None


class ComplaintImported(SubmissionImported):
    """A complaint (pengaduan) was imported from the register."""

    name: ClassVar[str] = "ComplaintImported"


class ConsultationImported(SubmissionImported):
    """A consultation (konsultasi) was imported from the register."""

    name: ClassVar[str] = "ConsultationImported"


class SurveySubmitted(Contract):
    """The complainant rated the service after closure: the nine SKM elements, 1 to 4."""

    name: ClassVar[str] = "SurveySubmitted"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    at: AwareDatetime
    scores: list[int] = Field(min_length=9, max_length=9)
    # The respondent's profile (shared/survey.py PROFILE), when given; the suggestion stays in
    # intake, sealed (free text).
    age_group: str | None = None
    sex: str | None = None
    education: str | None = None
    occupation: str | None = None


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


class MessageEdited(Contract):
    """The complainant edited an earlier message of the case; the words stay in intake."""

    name: ClassVar[str] = "MessageEdited"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    channel: Channel
    received_at: AwareDatetime


class MessageWithdrawn(Contract):
    """The complainant deleted an earlier message of the case for everyone (it stays on
    record, marked withdrawn, in intake)."""

    name: ClassVar[str] = "MessageWithdrawn"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    channel: Channel
    received_at: AwareDatetime


class ComplainantReplied(MessageAdded):
    """The complainant wrote to their open case: on their tracking page (code and receipt
    secret), or on their own channel (a mail reply in the thread, a later chat message).

    Workflow takes it as the information asked for when the case waits for it (the clock runs
    again), else as a note on the case; what they wrote stays in intake, sealed.
    """

    name: ClassVar[str] = "ComplainantReplied"


class ResolutionConfirmed(Contract):
    """The complainant said their answered case is solved ("Sudah selesai?": sudah)."""

    name: ClassVar[str] = "ResolutionConfirmed"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    at: AwareDatetime


class ResolutionDisputed(Contract):
    """The complainant said their answered case is not solved: workflow reopens it within the
    window, beyond it an officer decides."""

    name: ClassVar[str] = "ResolutionDisputed"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    at: AwareDatetime


class DispositionReceived(Contract):
    """SP4N-LAPOR! disposed a complaint it had sent us before to another agency of this
    deployment (`to_agency`), or withdrew it to the provincial coordinator (`to_agency` is
    shared.sop.PROVINCE, "*"): workflow moves the case (docs/lapor.md). `lapor_ref`: LAPOR!'s
    tracking id. LAPOR!'s own note on it, if any, is not taken (never text on the wire)."""

    name: ClassVar[str] = "DispositionReceived"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    at: AwareDatetime
    from_agency: str
    to_agency: str
    lapor_ref: str


class PersonalDataErased(Contract):
    """An administrator erased the complainant's personal data: every service forgets it.

    The case still counts; its identity and words read "data dihapus" from now on.
    """

    name: ClassVar[str] = "PersonalDataErased"
    producer: ClassVar[str] = "intake"

    case_id: UUID
    erased_at: AwareDatetime
