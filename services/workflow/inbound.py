"""What workflow does with intake's events: open a case per submission (or imported register
row), exactly once, and forget what officers wrote about a person when intake erases them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from services.workflow.case import Case
from services.workflow.cases import Cases
from services.workflow.rules import UnknownCase
from shared.events import (
    Envelope,
    InvalidMessage,
    PersonalDataErased,
    SubmissionImported,
    SubmissionReceived,
)
from shared.messaging import Consumer
from shared.working_time import WorkingCalendar

# An outage of the store: retry in place, never spend the message's deliveries.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
)


OPENING = SubmissionReceived | SubmissionImported


def _open_all(cases: Cases, envelopes: Sequence[Envelope]) -> None:
    calendar = cases.calendar()
    cases.open([partial(_case_of, envelope, calendar) for envelope in envelopes])


def _case_of(envelope: Envelope, calendar: WorkingCalendar) -> Case:
    """A new case for a submission (or an imported register row)."""
    submission = envelope.data
    if isinstance(submission, SubmissionImported):
        return Case.import_(submission, agency=envelope.agency, calendar=calendar)
    assert isinstance(submission, SubmissionReceived)
    return Case.open(
        **submission.opening() | {"channel": submission.channel.value},
        agency=envelope.agency,
        complainant_ref=submission.complainant_ref,
        calendar=calendar,
    )


def _erase(cases: Cases, envelope: Envelope) -> None:
    """Shred the case key with the event that records it; a repeat changes nothing."""
    erased = envelope.data
    assert isinstance(erased, PersonalDataErased)
    try:
        case = cases.get_case(erased.case_id)
    except UnknownCase:
        return  # never opened here (another agency's case): nothing to forget
    if case.erase_data(at=erased.erased_at):
        cases.store(case, erased=[case.id])


def _handle(cases: Cases, envelopes: Sequence[Envelope]) -> None:
    """In order: runs of submissions are opened together; erasures one by one after them."""
    run: list[Envelope] = []
    for envelope in envelopes:
        if isinstance(envelope.data, OPENING):
            run.append(envelope)
            continue
        _open_all(cases, run)
        run = []
        _erase(cases, envelope)
    _open_all(cases, run)


def consumer(cases: Cases) -> Consumer:
    """Workflow's consumer of intake events."""

    async def handle(envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            if not isinstance(envelope.data, OPENING | PersonalDataErased):
                raise InvalidMessage(f"workflow does not handle {envelope.type}")
        await asyncio.to_thread(_handle, cases, envelopes)

    return Consumer(service="workflow", handle=handle, transient=TRANSIENT)
