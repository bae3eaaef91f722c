"""What a case allows at any step: asking the complainant, rejecting, merging, reopening, notes.

Every command is checked by `refusal` (rules.py) against the SOP table's actions; the API's
list of allowed actions asks the same.

`Casework` is the base of the Case aggregate (services/workflow/case.py); the library gives
each event class defined here a subclass on Case, so stored topics read `case:Case.<Event>`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.workflow.privacy import Erasable
from services.workflow.rules import (
    Moment,
    NotAnOfficer,
    WrongKind,
    acting_role,
    refusal,
)
from shared.aggregate import AgencyAggregate
from shared.refusals import Refused
from shared.sop import OFFICE_ROLES, Kind, Officer, Sop, Step, sop_for
from shared.vocabulary import Group, Status, is_in
from shared.working_time import WorkingCalendar


class Casework(Erasable):
    """The case's state, the checks every command makes, and the any-step actions."""

    if TYPE_CHECKING:  # set by Case's opening event; annotations here would become its fields
        kind: str
        sop_version: str
        status: str
        current_step: str | None
        step_started_at: datetime
        step_due_at: datetime | None
        deadline_at: datetime
        paused_at: datetime | None
        closed_at: datetime | None
        resolution: str | None
        answer: str | None
        merged_into: UUID | None
        duplicates: list[UUID]
        overdue_steps: list[str]
        warned_days: list[int]
        breached: bool

    @property
    def sop(self) -> Sop:
        """The SOP table this case follows."""
        return sop_for(Kind(self.kind), self.sop_version)

    @property
    def is_open(self) -> bool:
        """Still being handled (waiting for the complainant counts as open)."""
        return is_in(self.status, Group.OPEN)

    def refusal(self, action_id: str, by: Officer, moment: Moment | None = None) -> Refused | None:
        """Why this officer may not take this action now (rules.refusal); None if they may."""
        return refusal(self, action_id, by, moment)

    def _refuse(self, action_id: str, by: Officer, moment: Moment | None = None) -> None:
        """Raise the refusal, if any."""
        refused = self.refusal(action_id, by, moment)
        if refused is not None:
            raise refused

    def _at(self, action_id: str, by: Officer) -> Step:
        """The step an open case is at, once the action is allowed there."""
        self._refuse(action_id, by)
        assert self.current_step is not None
        return self.sop.step(self.current_step)

    def _who(self, step: Step, by: Officer, at: datetime) -> dict[str, Any]:
        return {"step": step.id, "by": by.id, "role": acting_role(by, step).value, "at": at}

    class InformationRequested(AgencyAggregate.Event):
        """The complainant is asked for more; the clock stops."""

        step: str
        by: str
        role: str
        at: datetime
        reason: str

        def apply(self, aggregate: Any) -> None:
            """Stop the clock."""
            aggregate.paused_at, aggregate.status = self.at, Status.WAITING_INFO.value

    class InformationReceived(AgencyAggregate.Event):
        """The complainant answered; the clock runs again, due times moved by the pause."""

        step: str
        by: str
        role: str
        at: datetime
        summary: str
        paused_minutes: float
        step_due_at: datetime
        deadline_at: datetime

        def apply(self, aggregate: Any) -> None:
            """Restart the clock with the moved due times."""
            aggregate.paused_at, aggregate.status = None, Status.IN_PROGRESS.value
            aggregate.step_due_at, aggregate.deadline_at = self.step_due_at, self.deadline_at

    class CaseRejected(AgencyAggregate.Event):
        """Not the office's matter: closed, with the reason and where it was referred."""

        step: str
        by: str
        role: str
        at: datetime
        reason: str
        referred_to: str

        def apply(self, aggregate: Any) -> None:
            """Close as rejected."""
            aggregate.status, aggregate.closed_at = Status.REJECTED.value, self.at
            aggregate.current_step, aggregate.step_due_at = None, None
            aggregate.resolution, aggregate.paused_at = type(self).__name__, None

    class CaseMerged(AgencyAggregate.Event):
        """A duplicate, merged into its primary case."""

        step: str
        by: str
        role: str
        at: datetime
        primary_case_id: UUID

        def apply(self, aggregate: Any) -> None:
            """Close as merged."""
            aggregate.status, aggregate.closed_at = Status.MERGED.value, self.at
            aggregate.current_step, aggregate.step_due_at = None, None
            aggregate.merged_into, aggregate.paused_at = self.primary_case_id, None
            aggregate.resolution = type(self).__name__

    class DuplicateMerged(AgencyAggregate.Event):
        """The primary case took in a duplicate."""

        step: str | None
        by: str
        role: str
        at: datetime
        duplicate_case_id: UUID

        def apply(self, aggregate: Any) -> None:
            """Remember the duplicate."""
            aggregate.duplicates = [*aggregate.duplicates, self.duplicate_case_id]

    class CaseReopened(AgencyAggregate.Event):
        """The complainant disputed the answer in time: back to the first step, a new deadline."""

        step: str
        by: str
        role: str
        at: datetime
        reason: str
        step_due_at: datetime
        deadline_at: datetime

        def apply(self, aggregate: Any) -> None:
            """Open again at the first step."""
            aggregate.status, aggregate.closed_at = Status.IN_PROGRESS.value, None
            aggregate.current_step, aggregate.step_started_at = self.step, self.at
            aggregate.step_due_at, aggregate.deadline_at = self.step_due_at, self.deadline_at
            aggregate.resolution, aggregate.answer = None, None
            aggregate.overdue_steps, aggregate.warned_days = [], []
            aggregate.breached = False

    class NoteAdded(AgencyAggregate.Event):
        """An officer's note (sealed), at the step the case was at."""

        step: str | None
        by: str
        role: str
        at: datetime
        text: str

    class AttachmentAdded(AgencyAggregate.Event):
        """A file stored beside the case (its content is in the attachment store)."""

        step: str | None
        by: str
        role: str
        at: datetime
        attachment_id: str
        filename: str
        content_type: str
        size: int
        sha256: str

    def request_information(self, *, reason: str, by: Officer, at: datetime) -> None:
        """Ask the complainant for more; the clock stops until they answer."""
        step = self._at("information-request", by)
        self.trigger_event(self.InformationRequested, **self._who(step, by, at), reason=reason)

    def receive_information(
        self, *, summary: str, by: Officer, at: datetime, calendar: WorkingCalendar
    ) -> None:
        """Record the complainant's answer; due times move by exactly the paused working time."""
        step = self._at("information-received", by)
        assert self.paused_at is not None
        paused = calendar.between(self.paused_at, at)
        assert self.step_due_at is not None
        self.trigger_event(
            self.InformationReceived,
            **self._who(step, by, at),
            summary=summary,
            paused_minutes=round(paused / timedelta(minutes=1), 2),
            step_due_at=calendar.add(self.step_due_at, paused),
            deadline_at=calendar.add(self.deadline_at, paused),
        )

    def reject(self, *, reason: str, referred_to: str, by: Officer, at: datetime) -> None:
        """Not the office's matter: close it, saying why and where it was referred."""
        step = self._at("reject", by)
        self.trigger_event(
            self.CaseRejected, **self._who(step, by, at), reason=reason, referred_to=referred_to
        )

    def merge_into(self, primary: Casework, *, by: Officer, at: datetime) -> None:
        """Close this duplicate into its primary case; both record it."""
        step = self._at("merge", by)
        if primary.id == self.id or not primary.is_open or primary.kind != self.kind:
            raise WrongKind(primary.kind, reason="primary")
        who = self._who(step, by, at)
        self.trigger_event(self.CaseMerged, **who, primary_case_id=primary.id)
        primary.trigger_event(
            primary.DuplicateMerged,
            **(who | {"step": primary.current_step}),
            duplicate_case_id=self.id,
        )

    def reopen(
        self, *, reason: str, by: Officer, at: datetime, calendar: WorkingCalendar, window_days: int
    ) -> None:
        """The complainant disputes the answer within the window: handle it again."""
        self._refuse("reopen", by, Moment(at, calendar, window_days))
        first = self.sop.after(self.sop.first.id)
        assert first is not None
        self.trigger_event(
            self.CaseReopened,
            **self._who(first, by, at),
            reason=reason,
            step_due_at=calendar.add_working_minutes(at, first.minutes),
            deadline_at=calendar.add_working_days(at, self.sop.deadline_working_days),
        )

    def _office_role(self, by: Officer) -> str:
        roles = sorted(by.roles & OFFICE_ROLES)
        if not roles:
            raise NotAnOfficer()
        return roles[0].value

    def add_note(self, *, text: str, by: Officer, at: datetime) -> None:
        """Any officer may note something, at any step, open or closed."""
        self._refuse("notes", by)
        role = self._office_role(by)
        self.trigger_event(
            self.NoteAdded, step=self.current_step, by=by.id, role=role, at=at, text=text
        )

    def add_attachment(
        self,
        *,
        attachment_id: str,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
        by: Officer,
        at: datetime,
    ) -> None:
        """A file an officer attached, at the step the case is at."""
        self.trigger_event(
            self.AttachmentAdded,
            step=self.current_step,
            by=by.id,
            role=self._office_role(by),
            at=at,
            attachment_id=attachment_id,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
        )
