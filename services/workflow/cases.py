"""The workflow application: cases in their event store, opened from intake's submissions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from services.workflow.case import Case
from shared.events import SubmissionReceived
from shared.settings import Settings
from shared.sop import sop_for

log = logging.getLogger(__name__)

SCHEMA = "workflow"


def opening(submission: SubmissionReceived, *, agency: str) -> Case:
    """A new case for a received submission, waiting at the step after submission."""
    sop = sop_for(submission.kind)
    next_step = sop.after(sop.first.id)
    assert next_step is not None
    return Case(
        id=submission.case_id,
        agency=agency,
        kind=submission.kind.value,
        tracking_code=submission.tracking_code,
        channel=submission.channel.value,
        category=submission.category,
        received_at=submission.received_at,
        anonymous=submission.anonymous,
        confidential=submission.confidential,
        complainant_ref=submission.complainant_ref,
        sop_version=sop.version,
        current_step=next_step.id,
    )


class Cases(Application[UUID]):
    """Stores Case aggregates."""

    def open(self, cases: Sequence[Case]) -> int:
        """Save new cases; one already open (a redelivery) is left as it is. How many opened."""
        if not cases:
            return 0
        try:
            self.save(*cases)
        except IntegrityError:
            if len(cases) == 1:
                log.info("case %s is already open", cases[0].id)
                return 0
            return sum(self.open([case]) for case in cases)
        return len(cases)

    def get_case(self, case_id: UUID) -> Case:
        """The case with this id (AggregateNotFoundError if none)."""
        case: Case = self.repository.get(case_id)
        return case


def open_cases(settings: Settings) -> Cases:
    """The application on this deployment's database (creates its tables)."""
    return Cases(env=settings.eventsourcing_env(schema=SCHEMA))
