"""What workflow does with intake's events: open a case per submission, exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from services.workflow.cases import Cases, opening
from shared.events import Envelope, InvalidMessage, SubmissionReceived
from shared.messaging import Consumer

# An outage of the store: retry in place, never spend the message's deliveries.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
)


def consumer(cases: Cases) -> Consumer:
    """Workflow's consumer of intake events."""

    async def handle(envelopes: Sequence[Envelope]) -> None:
        openings = []
        for envelope in envelopes:
            if not isinstance(envelope.data, SubmissionReceived):
                raise InvalidMessage(f"workflow does not handle {envelope.type}")
            openings.append(opening(envelope.data, agency=envelope.agency))
        await asyncio.to_thread(cases.open, openings)

    return Consumer(service="workflow", handle=handle, transient=TRANSIENT)
