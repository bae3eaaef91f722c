"""What a case records: every event of the Case aggregate, and how it changes the case.

Events only record; the aggregate (aggregate.py) checks and computes before it triggers one.
The library gives each class here a subclass on the aggregate, `Case.<Name>`: that is the
class the store names in its topics, the wire table maps and everyone else uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from shared.aggregate import AgencyAggregate
from shared.vocabulary import IMPORTED, Group, Status, closes_as, is_in


def _named(state: dict[str, Any]) -> None:
    """An event stored before officers' names were recorded: its actor's name is unknown."""
    state.setdefault("by_name", None)


# Opening


class CaseOpened(AgencyAggregate.Created):
    """A received submission became a case, at the step after submission (Case.__init__)."""

    kind: str
    tracking_code: str
    channel: str
    category: str | None
    received_at: datetime
    anonymous: bool
    confidential: bool
    complainant_ref: UUID | None
    sop_version: str
    current_step: str
    step_due_at: datetime
    deadline_at: datetime


class CaseImported(AgencyAggregate.Created):
    """A register row became a case: open at `current_step`, or closed at `closed_at`."""

    kind: str
    tracking_code: str
    channel: str
    source_channel: str | None
    category: str | None
    received_at: datetime
    anonymous: bool
    confidential: bool
    complainant_ref: UUID | None
    sop_version: str
    status: str
    current_step: str | None
    step_due_at: datetime | None
    deadline_at: datetime
    closed_at: datetime | None
    register_ref: str | None

    def apply(self, aggregate: Any) -> None:
        """Mark it imported; a closed row closes the case as the register says."""
        aggregate.imported, aggregate.register_ref = True, self.register_ref
        aggregate.imported_at = self.timestamp  # alarms due before it are history, not news
        aggregate.source_channel = self.source_channel
        aggregate.status, aggregate.closed_at = self.status, self.closed_at
        if is_in(self.status, Group.CLOSED):
            aggregate.resolution = IMPORTED


def _close(aggregate: Any, event: Any) -> None:
    """Close the case by an event of its own (not a step's): with the status the vocabulary
    gives that event, no step running and no pause."""
    name = type(event).__name__
    aggregate.status, aggregate.closed_at = closes_as(name).value, event.at
    aggregate.current_step, aggregate.step_due_at = None, None
    aggregate.resolution, aggregate.paused_at = name, None


# A step's own action (the SOP table's `event`)


class StepCompleted(AgencyAggregate.Event):
    """Base of every SOP step's own event: the case moves on, or closes."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    next_step: str | None
    step_due_at: datetime | None
    working_minutes: float
    within_standard: bool

    def apply(self, aggregate: Any) -> None:
        """Move to the next step, or close the case."""
        aggregate.current_step, aggregate.step_started_at = self.next_step, self.at
        aggregate.step_due_at = self.step_due_at
        if self.next_step is None:
            aggregate.status, aggregate.closed_at = closes_as(type(self).__name__).value, self.at


class Answered(StepCompleted):
    """A completion that closes the case with an answer for the complainant."""

    answer: str

    def apply(self, aggregate: Any) -> None:
        """Close with the answer."""
        super().apply(aggregate)
        aggregate.answer = self.answer
        aggregate.resolution = type(self).__name__


class ResolvedDirectly(Answered):
    """Identification found the answer at once (both SOPs): the case closes."""


class Escalated(StepCompleted):
    """The complaint team could not solve it directly: on to the leadership."""

    note: str


class ComplaintVerified(StepCompleted):
    """The Kabid verified it (or the Sekretaris routed it) to the Head of Office."""

    note: str


class DisposisiIssued(StepCompleted):
    """The Kepala Dinas disposed it to the complaint team with an instruction."""

    to_role: str
    instruction: str


class InvestigationReported(StepCompleted):
    """Investigation / facilitation done, with the related agencies, reported upward."""

    summary: str
    related_agencies: list[str]


class BapRecorded(StepCompleted):
    """The investigation result: the Berita Acara Pemeriksaan (sealed JSON)."""

    bap: str
    attachment_ids: list[str]


class FollowUpArchived(Answered):
    """The BAP was followed up and archived; the complainant gets the answer."""

    action: str
    archive_ref: str


class ConsultationFormAccepted(StepCompleted):
    """The Pojok OSS officer received the consultation form."""

    note: str


class EscalatedToBkpm(StepCompleted):
    """The OSS problem went to BKPM; its reference, if known yet."""

    bkpm_reference: str
    note: str


class BkpmAnswered(StepCompleted):
    """BKPM's disposition and answer came back."""

    bkpm_reference: str
    bkpm_answer: str


class FacilitationCompleted(Answered):
    """The applicant was helped with BKPM's answer: the consultation closes."""

    summary: str


# Actions at any step


class InformationRequested(AgencyAggregate.Event):
    """The complainant is asked for more; the clock stops."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    reason: str
    message: str = ""  # sealed: what the complainant is asked (their tracking page shows it)

    def apply(self, aggregate: Any) -> None:
        """Stop the clock."""
        aggregate.paused_at, aggregate.status = self.at, Status.WAITING_INFO.value


class InformationReceived(AgencyAggregate.Event):
    """The complainant answered; the clock runs again, due times moved by the pause."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    summary: str
    paused_minutes: float
    step_due_at: datetime
    deadline_at: datetime
    heard: int = 0  # the complainant's reply: the version of intake's submission it came from

    def apply(self, aggregate: Any) -> None:
        """Restart the clock with the moved due times."""
        _heard(aggregate, self.heard)
        aggregate.paused_at, aggregate.status = None, Status.IN_PROGRESS.value
        aggregate.step_due_at, aggregate.deadline_at = self.step_due_at, self.deadline_at


class CaseRejected(AgencyAggregate.Event):
    """Not the office's matter: closed, with the reason and where it was referred."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    reason: str
    referred_to: str

    def apply(self, aggregate: Any) -> None:
        """Close as rejected."""
        _close(aggregate, self)


class CaseMerged(AgencyAggregate.Event):
    """A duplicate, merged into its primary case."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    primary_case_id: UUID

    def apply(self, aggregate: Any) -> None:
        """Close as merged."""
        _close(aggregate, self)
        aggregate.merged_into = self.primary_case_id


class BacklogClosed(AgencyAggregate.Event):
    """A case still open in the imported register, closed as history with a reason (sealed)."""

    step: str
    by: str
    by_name: str | None
    role: str
    at: datetime
    reason: str

    def apply(self, aggregate: Any) -> None:
        """Close it as archived: the office handled it on paper, no answer was recorded here."""
        _close(aggregate, self)


class DuplicateMerged(AgencyAggregate.Event):
    """The primary case took in a duplicate."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str | None
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    duplicate_case_id: UUID

    def apply(self, aggregate: Any) -> None:
        """Remember the duplicate."""
        aggregate.duplicates = [*aggregate.duplicates, self.duplicate_case_id]


class CaseReopened(AgencyAggregate.Event):
    """The complainant disputed the answer in time: back to the first step, a new deadline."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    reason: str
    step_due_at: datetime
    deadline_at: datetime
    heard: int = 0  # the complainant's dispute: the version of intake's submission

    def apply(self, aggregate: Any) -> None:
        """Open again at the first step."""
        _heard(aggregate, self.heard)
        aggregate.status, aggregate.closed_at = Status.IN_PROGRESS.value, None
        aggregate.current_step, aggregate.step_started_at = self.step, self.at
        aggregate.step_due_at, aggregate.deadline_at = self.step_due_at, self.deadline_at
        aggregate.resolution, aggregate.answer = None, None
        aggregate.overdue_steps, aggregate.warned_days = [], []
        aggregate.breached = False


class CaseTransferred(AgencyAggregate.Event):
    """The case moved to another agency (its `agency`, this event's too: the one it went to),
    at the first step after submission; the deadline restarted or not, by the rule (MOVES)."""

    step: str  # where the case was when it moved
    by: str
    by_name: str | None
    role: str
    at: datetime
    from_agency: str
    to_agency: str
    reason: str  # sealed
    current_step: str
    step_due_at: datetime
    deadline_at: datetime
    deadline_restarted: bool
    lapor_ref: str | None = None  # SP4N-LAPOR!'s disposisi it follows (None: our own move)
    heard: int = 0  # that disposisi: the version of intake's submission

    def apply(self, aggregate: Any) -> None:
        """Hand the case to the agency it went to, at the first step after submission."""
        _heard(aggregate, self.heard)
        aggregate.agency = self.to_agency
        aggregate.current_step, aggregate.step_started_at = self.current_step, self.at
        aggregate.step_due_at, aggregate.deadline_at = self.step_due_at, self.deadline_at
        aggregate.overdue_steps = []
        if self.deadline_restarted:
            aggregate.warned_days, aggregate.breached = [], False


class CaseDeclined(CaseTransferred):
    """ "Bukan wewenang": the agency sent the case back to the provincial coordinator."""


class NoteAdded(AgencyAggregate.Event):
    """An officer's note (sealed), at the step the case was at."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str | None
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    text: str
    heard: int = 0  # a note of the complainant's reply: the version of intake's submission

    def apply(self, aggregate: Any) -> None:
        """Remember which of the complainant's messages is handled."""
        _heard(aggregate, self.heard)


def _heard(aggregate: Any, version: int) -> None:
    """One more version of intake's submission whose reply or dispute the case took in (0: an
    officer's own, none)."""
    if version:
        aggregate.heard_versions = {*getattr(aggregate, "heard_versions", ()), version}


class AttachmentAdded(AgencyAggregate.Event):
    """A file stored beside the case (its content is in the attachment store)."""

    class_version = 2
    upcast_v1_v2 = staticmethod(_named)

    step: str | None
    by: str
    by_name: str | None  # the officer's name as they acted (None: before names)
    role: str
    at: datetime
    attachment_id: str
    filename: str
    content_type: str
    size: int
    sha256: str


# The clock: each alarm once per case and step


class StepOverdue(AgencyAggregate.Event):
    """The current step ran past its time standard."""

    step: str
    due_at: datetime
    at: datetime

    def apply(self, aggregate: Any) -> None:
        """Remember it was raised."""
        aggregate.overdue_steps = [*aggregate.overdue_steps, self.step]


class DeadlineApproaching(AgencyAggregate.Event):
    """Only so many working days are left before the case deadline."""

    step: str | None
    working_days_left: int
    covers: list[int]
    deadline_at: datetime
    at: datetime

    def apply(self, aggregate: Any) -> None:
        """Remember the warnings this one stands for (a late scan gives only the latest)."""
        aggregate.warned_days = [*aggregate.warned_days, *self.covers]


class DeadlineBreached(AgencyAggregate.Event):
    """The case is still open past its deadline (14 working days for a complaint)."""

    step: str | None
    deadline_at: datetime
    at: datetime

    def apply(self, aggregate: Any) -> None:
        """Remember the breach."""
        aggregate.breached = True


# Erasure


class CaseDataErased(AgencyAggregate.Event):
    """The case key was destroyed: notes, answers and files read "data dihapus"."""

    at: datetime

    def apply(self, aggregate: Any) -> None:
        """Remember when."""
        aggregate.data_erased_at = self.at
