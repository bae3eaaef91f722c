"""Cases brought in from the office's old register: opened with the register's history.

`Importable` is a base of the Case aggregate (services/workflow/case.py), which takes the
creation event defined here as its own `Case.CaseImported` (assigned in Case's body: defined
on a base aggregate, the library would make it the base of `Case.CaseOpened` too).
No SOP step is walked: a closed row is a closed case at its real date, an open row waits at
the step after submission, and the deadline counts from the real received date on the
office calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

from services.workflow.clock import Clocked
from shared.aggregate import AgencyAggregate
from shared.events import SubmissionImported
from shared.sop import sop_for
from shared.vocabulary import IMPORTED, Group, Status, is_in
from shared.working_time import WorkingCalendar


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
        aggregate.source_channel = self.source_channel
        aggregate.status, aggregate.closed_at = self.status, self.closed_at
        if is_in(self.status, Group.CLOSED):
            aggregate.resolution = IMPORTED


class Importable(Clocked):
    """The import path of a case."""

    if TYPE_CHECKING:  # set by the opening events (Case.__init__, then CaseImported.apply)
        CaseImported: ClassVar[type[AgencyAggregate.Created]]
        imported: bool
        register_ref: str | None
        source_channel: str | None

    @classmethod
    def import_(
        cls, submission: SubmissionImported, *, agency: str, calendar: WorkingCalendar
    ) -> Self:
        """A case for an imported register row (its id is the submission's)."""
        sop = sop_for(submission.kind)
        first = sop.after(sop.first.id)
        assert first is not None
        still_open = submission.outcome is None
        received = submission.received_at
        return cls._create(
            cls.CaseImported,
            id=submission.case_id,
            agency=agency,
            kind=submission.kind.value,
            tracking_code=submission.tracking_code,
            channel=submission.channel.value,
            source_channel=submission.source_channel,
            category=submission.category,
            received_at=received,
            anonymous=submission.anonymous,
            confidential=submission.confidential,
            complainant_ref=submission.complainant_ref,
            sop_version=sop.version,
            status=Status.IN_PROGRESS.value if still_open else submission.outcome,
            current_step=first.id if still_open else None,
            step_due_at=calendar.add_working_minutes(received, first.minutes)
            if still_open
            else None,
            deadline_at=calendar.add_working_days(received, sop.deadline_working_days),
            closed_at=None if still_open else submission.closed_at,
            register_ref=submission.register_ref,
        )
