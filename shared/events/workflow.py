"""What workflow publishes: every event of a case, as it walks through its SOP.

Each carries the step it belongs to and what the case looks like after it, so a reader needs
no SOP logic of its own. Officers' free text stays in workflow, except the public answer.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.events.envelope import Contract
from shared.events.opening import Opening
from shared.sop import Role
from shared.vocabulary import Status


class CaseEvent(Contract):
    """What every workflow event says: which case, when, at which step, by which role."""

    producer: ClassVar[str] = "workflow"

    case_id: UUID
    at: AwareDatetime
    step: str | None = None
    by_role: Role | None = None  # None: the case clock
    by_name: str | None = None  # the acting officer's name (None: the clock, or unrecorded)


class CaseOpened(CaseEvent, Opening):
    """Workflow opened a case for a submission; it waits at `current_step`."""

    name: ClassVar[str] = "CaseOpened"

    sop_version: str
    current_step: str
    step_due_at: AwareDatetime | None = None
    deadline_at: AwareDatetime | None = None


class CaseImported(CaseEvent, Opening):
    """Workflow opened a case from the office's old register, with the register's history.

    No SOP step was walked here: a closed row is a closed case (`status` resolved or
    rejected at `closed_at`); an open row waits at `current_step`. `deadline_at` is counted
    from the real `received_at` on the office calendar, so timeliness is judged by the
    register's dates.
    """

    name: ClassVar[str] = "CaseImported"

    imported: bool = True
    source_channel: str | None = None
    sop_version: str
    status: Status
    current_step: str | None = None  # None: closed
    step_due_at: AwareDatetime | None = None
    deadline_at: AwareDatetime
    closed_at: AwareDatetime | None = None  # None when open, or closed on an unknown date
    register_ref: str | None = None


class StepCompleted(CaseEvent):
    """An SOP step was done: time spent against its standard, and what comes next."""

    working_minutes: float
    within_standard: bool
    next_step: str | None = None  # None: the case is closed
    next_step_due_at: AwareDatetime | None = None


class ResolvedDirectly(StepCompleted):
    """Identification answered it at once: the case is closed."""

    name: ClassVar[str] = "ResolvedDirectly"
    public_answer: str | None = None


class Escalated(StepCompleted):
    """The complaint team escalated it to the leadership."""

    name: ClassVar[str] = "Escalated"


class ComplaintVerified(StepCompleted):
    """The Kabid (or the Sekretaris) verified it for the Head of Office."""

    name: ClassVar[str] = "ComplaintVerified"


class DisposisiIssued(StepCompleted):
    """The Kepala Dinas disposed it."""

    name: ClassVar[str] = "DisposisiIssued"
    to_role: Role


class InvestigationReported(StepCompleted):
    """Investigation / facilitation reported, naming related agencies."""

    name: ClassVar[str] = "InvestigationReported"
    related_agencies: list[str] = Field(default_factory=list)


class BapRecorded(StepCompleted):
    """The investigation result's BAP was recorded."""

    name: ClassVar[str] = "BapRecorded"


class FollowUpArchived(StepCompleted):
    """The BAP was followed up and archived: the case is closed."""

    name: ClassVar[str] = "FollowUpArchived"
    public_answer: str | None = None


class ConsultationFormAccepted(StepCompleted):
    """The Pojok OSS officer received the consultation form."""

    name: ClassVar[str] = "ConsultationFormAccepted"


class EscalatedToBkpm(StepCompleted):
    """The consultation went to BKPM."""

    name: ClassVar[str] = "EscalatedToBkpm"
    bkpm_reference: str = ""


class BkpmAnswered(StepCompleted):
    """BKPM's answer came back."""

    name: ClassVar[str] = "BkpmAnswered"
    bkpm_reference: str = ""


class FacilitationCompleted(StepCompleted):
    """The applicant was helped: the consultation is closed."""

    name: ClassVar[str] = "FacilitationCompleted"
    public_answer: str | None = None


class InformationRequested(CaseEvent):
    """The complainant was asked for more; the clock stopped."""

    name: ClassVar[str] = "InformationRequested"
    public_message: str | None = None  # what the complainant is asked (their own view shows it)


class InformationReceived(CaseEvent):
    """The complainant answered; due times moved by the paused working time."""

    name: ClassVar[str] = "InformationReceived"
    paused_minutes: float
    step_due_at: AwareDatetime
    deadline_at: AwareDatetime


class CaseRejected(CaseEvent):
    """Not the office's matter: closed, and where it was referred."""

    name: ClassVar[str] = "CaseRejected"
    referred_to: str = ""


class CaseMerged(CaseEvent):
    """A duplicate was merged into its primary case: closed."""

    name: ClassVar[str] = "CaseMerged"
    primary_case_id: UUID


class BacklogClosed(CaseEvent):
    """A case still open in the imported register was closed as history (its reason stays
    in workflow): archived at `at`, unanswered."""

    name: ClassVar[str] = "BacklogClosed"


class DuplicateMerged(CaseEvent):
    """The primary case took in a duplicate."""

    name: ClassVar[str] = "DuplicateMerged"
    duplicate_case_id: UUID


class CaseReopened(CaseEvent):
    """The complainant disputed the answer in time: open again at `step`."""

    name: ClassVar[str] = "CaseReopened"
    step_due_at: AwareDatetime
    deadline_at: AwareDatetime


class CaseTransferred(CaseEvent):
    """The case moved to another agency, keeping its id and tracking code; it waits at
    `current_step` there. The envelope's agency is `to_agency`, as for every later event.
    `deadline_restarted`: the rule (shared/sop.py MOVES) restarted the case deadline. The
    officer's reason stays in workflow."""

    name: ClassVar[str] = "CaseTransferred"
    from_agency: str
    to_agency: str
    current_step: str
    step_due_at: AwareDatetime
    deadline_at: AwareDatetime
    deadline_restarted: bool = False
    lapor_ref: str | None = None  # SP4N-LAPOR!'s disposisi it follows (None: our own move)


class CaseDeclined(CaseTransferred):
    """ "Bukan wewenang": the agency sent the case back to the provincial coordinator's queue
    (`to_agency` is shared.sop.PROVINCE, "*")."""

    name: ClassVar[str] = "CaseDeclined"


class NoteAdded(CaseEvent):
    """An officer added a note (its text stays in workflow)."""

    name: ClassVar[str] = "NoteAdded"


class AttachmentAdded(CaseEvent):
    """An officer attached a file (its content stays in workflow)."""

    name: ClassVar[str] = "AttachmentAdded"
    attachment_id: str
    content_type: str
    size: int


class StepOverdue(CaseEvent):
    """The current step ran past its time standard."""

    name: ClassVar[str] = "StepOverdue"
    due_at: AwareDatetime


class DeadlineApproaching(CaseEvent):
    """Only `working_days_left` working days remain before the deadline."""

    name: ClassVar[str] = "DeadlineApproaching"
    working_days_left: int
    deadline_at: AwareDatetime


class DeadlineBreached(CaseEvent):
    """The case is still open past its deadline."""

    name: ClassVar[str] = "DeadlineBreached"
    deadline_at: AwareDatetime


class CalendarEvent(Contract):
    """An administrator's correction of the office calendar (subject: the calendar's id)."""

    producer: ClassVar[str] = "workflow"

    day: str  # ISO date
    at: AwareDatetime


class CalendarDaySet(CalendarEvent):
    """A day declared off (or, with working=true, declared a working day)."""

    name: ClassVar[str] = "CalendarDaySet"
    working: bool
    label: str


class CalendarDayCleared(CalendarEvent):
    """A correction withdrawn: the national calendar applies to that day again."""

    name: ClassVar[str] = "CalendarDayCleared"


class CalendarStarted(Contract):
    """An agency's calendar of corrections was started."""

    name: ClassVar[str] = "CalendarStarted"
    producer: ClassVar[str] = "workflow"


class CaseDataErased(CaseEvent):
    """Workflow destroyed the case key: what officers wrote about the person is unreadable."""

    name: ClassVar[str] = "CaseDataErased"
