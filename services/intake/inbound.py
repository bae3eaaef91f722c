"""What intake does with workflow's events: tell the complainant, on their channel.

A closed case gets a closing message (email, WhatsApp, Instagram, SP4N-LAPOR!) and ends its
chat conversation; a LAPOR! case also gets a follow-up at every SOP step. Each becomes a row of
intake.deliveries keyed by the event's id, so a redelivered event changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from services.intake.draft import delivery_id
from services.intake.records import Delivery, Rows
from services.intake.store import SubmissionRecorder, Submissions
from shared.channels import Channel
from shared.events import Envelope
from shared.events.workflow import CaseReopened
from shared.messaging import Consumer
from shared.vocabulary import CLOSING_EVENTS

ANSWERING = frozenset({Channel.EMAIL, Channel.WHATSAPP, Channel.INSTAGRAM, Channel.LAPOR})
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
)


def _rows_for(submissions: Submissions, envelope: Envelope, rows: Rows) -> None:
    submission = submissions.submission(envelope.subject)
    if submission is None or submission.erased_at is not None:
        return  # not a submission of ours (or forgotten)
    if submission.history is not None:
        return  # from the old register: nobody was told of it on a channel, nor is now
    name = envelope.data.name
    closing = name in CLOSING_EVENTS
    channel = Channel(submission.received.channel)
    if closing:
        rows.ended.append(submission.id)
        rows.closed.append((submission.id, envelope.time))
    if name == CaseReopened.name:
        rows.reopened.append(submission.id)
    if closing or hasattr(envelope.data, "next_step") or name == CaseReopened.name:
        step = getattr(envelope.data, "next_step", None) or getattr(envelope.data, "step", None)
        rows.steps.append((submission.id, None if closing else step))
    if channel not in ANSWERING or not (closing or channel is Channel.LAPOR):
        return
    key = submissions.personal_key(submission.received.personal_ref)
    if key is None:
        return
    details: dict[str, Any] = {"event": name}
    answer = getattr(envelope.data, "public_answer", None)
    if answer:
        details["answer"] = answer
    purpose = "closure" if closing else "follow_up"
    rows.deliveries.append(
        Delivery(
            delivery_id(submission.id, f"{purpose}:{envelope.id}"),
            submission.id,
            channel.value,
            purpose,
            key.seal(details),
        )
    )


def _handle(submissions: Submissions, envelopes: Sequence[Envelope]) -> bool:
    rows = Rows()
    for envelope in envelopes:
        _rows_for(submissions, envelope, rows)
    recorder = submissions.recorder
    assert isinstance(recorder, SubmissionRecorder)
    recorder.write_rows(rows)
    return bool(rows.deliveries)


def consumer(submissions: Submissions, wake: Callable[[], None]) -> Consumer:
    """Intake's consumer of workflow events."""

    async def handle(envelopes: Sequence[Envelope]) -> None:
        if await asyncio.to_thread(_handle, submissions, envelopes):
            wake()

    return Consumer(service="intake", handle=handle, transient=TRANSIENT)
