"""What workflow does with intake's events: open a case per submission, exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from services.workflow.case import Case
from services.workflow.cases import Cases
from shared.events import Envelope, InvalidMessage, SubmissionReceived
from shared.messaging import Consumer

# An outage of the store: retry in place, never spend the message's deliveries.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
)


def _open_all(cases: Cases, envelopes: Sequence[Envelope]) -> None:
    calendar = cases.calendar()
    opened = []
    for envelope in envelopes:
        submission = envelope.data
        assert isinstance(submission, SubmissionReceived)
        opened.append(
            Case.open(
                case_id=submission.case_id,
                agency=envelope.agency,
                kind=submission.kind,
                tracking_code=submission.tracking_code,
                channel=submission.channel.value,
                category=submission.category,
                received_at=submission.received_at,
                anonymous=submission.anonymous,
                confidential=submission.confidential,
                complainant_ref=submission.complainant_ref,
                calendar=calendar,
            )
        )
    cases.open(opened)


def consumer(cases: Cases) -> Consumer:
    """Workflow's consumer of intake events."""

    async def handle(envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            if not isinstance(envelope.data, SubmissionReceived):
                raise InvalidMessage(f"workflow does not handle {envelope.type}")
        await asyncio.to_thread(_open_all, cases, envelopes)

    return Consumer(service="workflow", handle=handle, transient=TRANSIENT)
