"""The Submission aggregate: one complaint or consultation as intake received it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from shared.aggregate import AgencyAggregate
from shared.channels import Channel
from shared.sop import Kind

SUBMISSION_NAMESPACE = UUID("0e7f5a52-3c1d-4b0e-9a54-7c2b8f6d9e31")


def submission_id(channel: Channel, message_id: str | None) -> UUID:
    """Deterministic from the channel's own message id, so a repeat is the same submission."""
    if message_id is None:
        return uuid4()
    return uuid5(SUBMISSION_NAMESPACE, f"{channel.value}:{message_id}")


@dataclass(frozen=True)
class Received:
    """What every received event records. `sealed` holds the text and identity, encrypted."""

    kind: str
    channel: str
    channel_message_id: str | None
    tracking_code: str
    agency: str
    received_at: datetime
    category: str | None
    anonymous: bool
    confidential: bool
    personal_ref: UUID
    sealed: str


@dataclass(frozen=True)
class History:
    """What an imported register row adds: its own labels, number and outcome."""

    source_channel: str | None
    source_category: str | None
    register_ref: str | None
    outcome: str | None  # "resolved" | "rejected" | None (still open)
    closed_at: datetime | None


class Submission(AgencyAggregate):
    """A submission as received: its channel, its tracking code, its sealed content."""

    class ComplaintReceived(AgencyAggregate.Created):
        kind: str
        channel: str
        channel_message_id: str | None
        tracking_code: str
        received_at: datetime
        category: str | None
        anonymous: bool
        confidential: bool
        personal_ref: UUID
        sealed: str

    class ConsultationReceived(ComplaintReceived):
        pass

    class ComplaintImported(ComplaintReceived):
        """A row of the office's old register, with its own dates and outcome."""

        source_channel: str | None
        source_category: str | None
        register_ref: str | None
        outcome: str | None
        closed_at: datetime | None

        def apply(self, aggregate: Any) -> None:
            """Keep the register's history beside what every submission records."""
            aggregate.history = History(
                source_channel=self.source_channel,
                source_category=self.source_category,
                register_ref=self.register_ref,
                outcome=self.outcome,
                closed_at=self.closed_at,
            )

    class ConsultationImported(ComplaintImported):
        pass

    def __init__(
        self,
        *,
        kind: str,
        channel: str,
        channel_message_id: str | None,
        tracking_code: str,
        agency: str,
        received_at: datetime,
        category: str | None,
        anonymous: bool,
        confidential: bool,
        personal_ref: UUID,
        sealed: str,
    ) -> None:
        self.agency = agency
        self.history: History | None = None  # set when imported from a register
        self.received = Received(
            kind=kind,
            channel=channel,
            channel_message_id=channel_message_id,
            tracking_code=tracking_code,
            agency=agency,
            received_at=received_at,
            category=category,
            anonymous=anonymous,
            confidential=confidential,
            personal_ref=personal_ref,
            sealed=sealed,
        )
        self.erased_at: datetime | None = None
        self.message_ids = {channel_message_id} if channel_message_id else set()
        self.parts = 0
        self.first_edit: str | None = None  # the first message's latest edit, sealed
        self.surveyed = False
        self.resolution_answers: list[bool] = []  # "Sudah selesai?": True solved, False not
        self.resolution_answered_at: datetime | None = None

    holder: str | None = None  # the agency that has the case now, as the store read it

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        """Stamp each new event with the agency that has the case now (workflow moves it),
        else the one it was submitted to, as workflow stamps the case's events."""
        kwargs.setdefault("agency", self.holder or self.agency)
        super().trigger_event(event_class, **kwargs)

    class MessageAdded(AgencyAggregate.Event):
        """A later message of the same conversation (a chat burst, a mail reply), sealed."""

        channel: str
        channel_message_id: str
        received_at: datetime
        sealed: str
        attachments: int

        def apply(self, aggregate: Any) -> None:
            """Count the part."""
            aggregate.parts += 1
            aggregate.message_ids.add(self.channel_message_id)

    class MessageEdited(AgencyAggregate.Event):
        """The complainant edited an earlier message (`amends`): its new words, sealed; the
        earlier words stay in the earlier event."""

        channel: str
        channel_message_id: str  # the edit's own id
        amends: str
        received_at: datetime
        sealed: str

        def apply(self, aggregate: Any) -> None:
            """An edit of the first message: its words now (the excerpt's)."""
            if self.amends == aggregate.received.channel_message_id:
                aggregate.first_edit = self.sealed

    class MessageWithdrawn(AgencyAggregate.Event):
        """The complainant deleted an earlier message (`amends`) for everyone: it is marked
        withdrawn, its words kept for the record."""

        channel: str
        channel_message_id: str  # the withdrawal's own id
        amends: str
        received_at: datetime

    class ComplainantReplied(MessageAdded):
        """The complainant wrote to their open case (tracking page or own channel), sealed;
        a MessageAdded stored earlier stays one."""

    class ResolutionConfirmed(AgencyAggregate.Event):
        """The complainant said the answered case is solved ("Sudah selesai?": sudah)."""

        at: datetime

        def apply(self, aggregate: Any) -> None:
            """Remember the answer."""
            aggregate.resolution_answers = [*aggregate.resolution_answers, True]
            aggregate.resolution_answered_at = self.at

    class ResolutionDisputed(AgencyAggregate.Event):
        """The complainant said the answered case is not solved ("Sudah selesai?": belum)."""

        at: datetime

        def apply(self, aggregate: Any) -> None:
            """Remember the answer."""
            aggregate.resolution_answers = [*aggregate.resolution_answers, False]
            aggregate.resolution_answered_at = self.at

    class DispositionReceived(AgencyAggregate.Event):
        """SP4N-LAPOR! disposed the complaint to another agency (PROVINCE: withdrew it to the
        provincial coordinator); workflow moves the case."""

        from_agency: str
        to_agency: str
        lapor_ref: str
        at: datetime

        def apply(self, aggregate: Any) -> None:
            """Remember where LAPOR! sent it last."""
            aggregate.disposed_to = self.to_agency

    class PersonalDataErased(AgencyAggregate.Event):
        """The complainant's key was destroyed: identity and words are unreadable from now on."""

        erased_at: datetime

        def apply(self, aggregate: Any) -> None:
            """Remember the erasure."""
            aggregate.erased_at = self.erased_at

    class SurveySubmitted(AgencyAggregate.Event):
        """The complainant rated the service (the nine SKM elements, 1 to 4)."""

        scores: list[int]
        at: datetime
        profile: dict[str, str] | None = None  # age_group, sex, education, occupation
        suggestion: str = ""  # sealed with the personal key (free text)

        def apply(self, aggregate: Any) -> None:
            """One survey per case."""
            aggregate.surveyed = True

    def rate(
        self,
        *,
        scores: list[int],
        at: datetime,
        profile: dict[str, str] | None = None,
        suggestion: str = "",
    ) -> None:
        """Record the satisfaction survey, once (`suggestion` arrives sealed)."""
        if self.surveyed:
            raise ValueError("this case was rated already")
        self.trigger_event(
            self.SurveySubmitted, scores=scores, at=at, profile=profile, suggestion=suggestion
        )

    def answer_resolution(self, *, solved: bool, at: datetime) -> None:
        """The complainant's "Sudah selesai?" after the answer."""
        self.trigger_event(self.ResolutionConfirmed if solved else self.ResolutionDisputed, at=at)

    def add_message(
        self,
        *,
        message_id: str,
        received_at: datetime,
        sealed: str,
        attachments: int,
        reply: bool = False,
    ) -> None:
        """Add a later message to this submission (sealed with its personal key); `reply`: the
        complainant wrote it to their open case (on the tracking page or their own channel)."""
        if self.erased_at is not None:
            raise ValueError("the personal data of this submission was erased")
        self.trigger_event(
            self.ComplainantReplied if reply else self.MessageAdded,
            channel=self.received.channel,
            channel_message_id=message_id,
            received_at=received_at,
            sealed=sealed,
            attachments=attachments,
        )

    def amend(
        self, *, message_id: str, amends: str, received_at: datetime, sealed: str | None
    ) -> None:
        """Edit (new words, sealed) or withdraw (`sealed` None) a message of this submission."""
        if self.erased_at is not None:
            raise ValueError("the personal data of this submission was erased")
        if amends not in self.message_ids:
            raise ValueError(f"no message {amends} in this submission")
        fields = {
            "channel": self.received.channel,
            "channel_message_id": message_id,
            "amends": amends,
            "received_at": received_at,
        }
        if sealed is None:
            self.trigger_event(self.MessageWithdrawn, **fields)
        else:
            self.trigger_event(self.MessageEdited, **fields, sealed=sealed)

    @property
    def lapor_agency(self) -> str:
        """The agency SP4N-LAPOR! last disposed the complaint to (at first: where it came)."""
        return str(getattr(self, "disposed_to", self.received.agency))

    def follow_disposition(self, *, to_agency: str, at: datetime) -> bool:
        """SP4N-LAPOR! disposed the complaint to `to_agency`: recorded once (a repeat of the
        agency it was disposed to last is not); whether it was recorded now."""
        if to_agency == self.lapor_agency:
            return False
        ref = self.received.channel_message_id or ""
        from_agency = self.lapor_agency
        self.trigger_event(
            self.DispositionReceived,
            from_agency=from_agency,
            to_agency=to_agency,
            lapor_ref=ref,
            at=at,
        )
        return True

    def erase(self, *, at: datetime) -> bool:
        """Record the erasure once; whether it was recorded now."""
        if self.erased_at is not None:
            return False
        self.trigger_event(self.PersonalDataErased, erased_at=at)
        return True

    @classmethod
    def receive(cls, *, id: UUID, received: Received) -> Submission:
        """Record a new submission under a (possibly deterministic) id."""
        event_class = (
            cls.ComplaintReceived if received.kind == Kind.COMPLAINT else cls.ConsultationReceived
        )
        return cls._create(event_class, id=id, **received.__dict__)

    @classmethod
    def import_(cls, *, id: UUID, received: Received, history: History) -> Submission:
        """Record a row of the office's old register under its deterministic id."""
        event_class = (
            cls.ComplaintImported if received.kind == Kind.COMPLAINT else cls.ConsultationImported
        )
        return cls._create(event_class, id=id, **received.__dict__, **history.__dict__)
