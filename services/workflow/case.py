"""The Case aggregate: one complaint or consultation walking through its SOP, on working time.

Public methods check the rules and compute (due times, working minutes against the standard);
events only record. Free text officers write arrives already sealed with the case's key.
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
from shared.auth import Officer
from shared.sop import Kind, Role, Status, Step, sop_for
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

    def _complete(
        self, event_class: Any, step: Step, *, close: bool = False, **fields: Any
    ) -> None:
        by, at, calendar = fields.pop("by"), fields.pop("at"), fields.pop("calendar")
        self.trigger_event(
            event_class, **self._completion(step, by, at, calendar, close=close), **fields
        )

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

    def resolve_directly(
        self, *, answer: str, by: Officer, at: datetime, calendar: WorkingCalendar
    ) -> None:
        """Identification solved it at once: close with the answer."""
        step = self._step_for("identification", by)
        self._complete(
            self.ResolvedDirectly, step, close=True, answer=answer, by=by, at=at, calendar=calendar
        )

    def escalate(self, *, note: str, by: Officer, at: datetime, calendar: WorkingCalendar) -> None:
        """Identification could not solve it: on to verification by the Kabid."""
        step = self._step_for("identification", by, Kind.COMPLAINT)
        self._complete(self.Escalated, step, note=note, by=by, at=at, calendar=calendar)

    def verify(self, *, note: str, by: Officer, at: datetime, calendar: WorkingCalendar) -> None:
        """Verification by the Kabid, or routed by the Sekretaris, to the Head of Office."""
        step = self._step_for("verification", by, Kind.COMPLAINT)
        self._complete(self.ComplaintVerified, step, note=note, by=by, at=at, calendar=calendar)

    def dispose(
        self, *, to: Role, instruction: str, by: Officer, at: datetime, calendar: WorkingCalendar
    ) -> None:
        """The Kepala Dinas's disposisi to the complaint team, with an instruction."""
        step = self._step_for("disposition", by, Kind.COMPLAINT)
        self._complete(
            self.DisposisiIssued,
            step,
            to_role=to.value,
            instruction=instruction,
            by=by,
            at=at,
            calendar=calendar,
        )

    def report_investigation(
        self,
        *,
        summary: str,
        related_agencies: list[str],
        by: Officer,
        at: datetime,
        calendar: WorkingCalendar,
    ) -> None:
        """Investigation / facilitation reported, naming the related agencies involved."""
        step = self._step_for("investigation", by, Kind.COMPLAINT)
        self._complete(
            self.InvestigationReported,
            step,
            summary=summary,
            related_agencies=related_agencies,
            by=by,
            at=at,
            calendar=calendar,
        )

    def record_bap(
        self,
        *,
        bap: str,
        attachment_ids: list[str],
        by: Officer,
        at: datetime,
        calendar: WorkingCalendar,
    ) -> None:
        """The investigation result with its BAP."""
        step = self._step_for("investigation_report", by, Kind.COMPLAINT)
        self._complete(
            self.BapRecorded,
            step,
            bap=bap,
            attachment_ids=attachment_ids,
            by=by,
            at=at,
            calendar=calendar,
        )

    def archive_follow_up(
        self,
        *,
        action: str,
        answer: str,
        archive_ref: str,
        by: Officer,
        at: datetime,
        calendar: WorkingCalendar,
    ) -> None:
        """The BAP was followed up and archived: the case closes with the answer."""
        step = self._step_for("follow_up", by, Kind.COMPLAINT)
        self._complete(
            self.FollowUpArchived,
            step,
            close=True,
            action=action,
            answer=answer,
            archive_ref=archive_ref,
            by=by,
            at=at,
            calendar=calendar,
        )

    def accept_form(
        self, *, note: str, by: Officer, at: datetime, calendar: WorkingCalendar
    ) -> None:
        """The Pojok OSS officer received the consultation form."""
        step = self._step_for("reception", by, Kind.CONSULTATION)
        self._complete(
            self.ConsultationFormAccepted, step, note=note, by=by, at=at, calendar=calendar
        )

    def escalate_to_bkpm(
        self, *, reference: str, note: str, by: Officer, at: datetime, calendar: WorkingCalendar
    ) -> None:
        """The OSS problem cannot be solved here: on to BKPM."""
        step = self._step_for("identification", by, Kind.CONSULTATION)
        self._complete(
            self.EscalatedToBkpm,
            step,
            bkpm_reference=reference,
            note=note,
            by=by,
            at=at,
            calendar=calendar,
        )

    def record_bkpm_answer(
        self, *, reference: str, answer: str, by: Officer, at: datetime, calendar: WorkingCalendar
    ) -> None:
        """BKPM's reference and answer, when it comes back."""
        step = self._step_for("disposition", by, Kind.CONSULTATION)
        self._complete(
            self.BkpmAnswered,
            step,
            bkpm_reference=reference,
            bkpm_answer=answer,
            by=by,
            at=at,
            calendar=calendar,
        )

    def complete_facilitation(
        self, *, summary: str, answer: str, by: Officer, at: datetime, calendar: WorkingCalendar
    ) -> None:
        """The applicant was helped: the consultation closes with the answer."""
        step = self._step_for("investigation", by, Kind.CONSULTATION)
        self._complete(
            self.FacilitationCompleted,
            step,
            close=True,
            summary=summary,
            answer=answer,
            by=by,
            at=at,
            calendar=calendar,
        )
