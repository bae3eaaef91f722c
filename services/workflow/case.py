"""The Case aggregate: one complaint or consultation walking through its SOP, on working time.

Public methods check the rules and compute (due times, working minutes against the standard);
events only record. Every step's own action goes through `complete`, by the SOP table.
Free text officers write arrives already sealed with the case's key.
Any-step actions live in casework.py, alarms in clock.py, the register import in imported.py;
all events are `Case.<Name>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from services.workflow.imported import CaseImported, Importable
from services.workflow.rules import acting_role
from shared.aggregate import AgencyAggregate
from shared.sop import ACTIONS, Kind, Officer, Step, When, sop_for
from shared.vocabulary import Status
from shared.working_time import WorkingCalendar


class Case(Importable):
    """A case follows the SOP version it was opened under; its id is the submission's."""

    CaseOpened: ClassVar[type[AgencyAggregate.Created]]  # defined by @event below
    CaseImported = CaseImported  # the register import's creation event (imported.py)

    @event("CaseOpened")
    def __init__(
        self,
        *,
        id: UUID,
        agency: str,
        kind: str,
        tracking_code: str,
        channel: str,
        category: str | None,
        received_at: datetime,
        anonymous: bool,
        confidential: bool,
        complainant_ref: UUID | None,
        sop_version: str,
        current_step: str,
        step_due_at: datetime,
        deadline_at: datetime,
    ) -> None:
        self.agency, self.kind, self.tracking_code = agency, kind, tracking_code
        self.channel, self.category, self.received_at = channel, category, received_at
        self.anonymous, self.confidential = anonymous, confidential
        self.complainant_ref, self.sop_version = complainant_ref, sop_version
        self.current_step, self.step_started_at = current_step, received_at
        self.step_due_at, self.deadline_at = step_due_at, deadline_at
        self.status, self.paused_at, self.closed_at = Status.IN_PROGRESS.value, None, None
        self.resolution, self.answer, self.merged_into = None, None, None
        self.duplicates, self.overdue_steps, self.warned_days = [], [], []
        self.breached = False
        self.imported, self.register_ref, self.source_channel = False, None, None

    @classmethod
    def open(
        cls,
        *,
        case_id: UUID,
        agency: str,
        kind: Kind,
        tracking_code: str,
        channel: str,
        category: str | None,
        received_at: datetime,
        anonymous: bool,
        confidential: bool,
        complainant_ref: UUID | None,
        calendar: WorkingCalendar,
    ) -> Case:
        """A case for a received submission, waiting at the step after submission."""
        sop = sop_for(kind)
        first = sop.after(sop.first.id)
        assert first is not None
        return cls(
            id=case_id,
            agency=agency,
            kind=kind.value,
            tracking_code=tracking_code,
            channel=channel,
            category=category,
            received_at=received_at,
            anonymous=anonymous,
            confidential=confidential,
            complainant_ref=complainant_ref,
            sop_version=sop.version,
            current_step=first.id,
            step_due_at=calendar.add_working_minutes(received_at, first.minutes),
            deadline_at=calendar.add_working_days(received_at, sop.deadline_working_days),
        )

    def _completion(
        self, step: Step, by: Officer, at: datetime, calendar: WorkingCalendar, *, close: bool
    ) -> dict[str, Any]:
        """What every step completion records: who, when, and time spent against the standard."""
        following = None if close else self.sop.after(step.id)
        spent = calendar.working_minutes_between(self.step_started_at, at)
        due = calendar.add_working_minutes(at, following.minutes) if following else None
        return {
            "step": step.id,
            "by": by.id,
            "role": acting_role(by, step).value,
            "at": at,
            "next_step": following.id if following else None,
            "step_due_at": due,
            "working_minutes": round(spent, 2),
            "within_standard": spent <= step.minutes,
        }

    class StepCompleted(AgencyAggregate.Event):
        """Base of every SOP step's own event: the case moves on, or closes."""

        step: str
        by: str
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
                aggregate.status, aggregate.closed_at = Status.RESOLVED.value, self.at

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

    def complete(
        self, action_id: str, *, by: Officer, at: datetime, calendar: WorkingCalendar, **fields: Any
    ) -> None:
        """Take a step's own action from the SOP table: record its event, move on or close.

        `fields` are the event's own (officer text already sealed).
        """
        action = ACTIONS[action_id]
        if action.when is not When.AT_STEP:
            raise ValueError(f"{action_id!r} is no step's own action")
        step = self._at(action_id, by)
        completion = self._completion(step, by, at, calendar, close=action.closes)
        self.trigger_event(getattr(self, action.event), **completion, **fields)
