"""What intake does with workflow's events: tell the complainant, on their channel.

An information request, the answer (closure) and a reopening are told to the complainant on
the channel they wrote by (email, WhatsApp, Instagram, SP4N-LAPOR!) or by email if they left an
address; a LAPOR! case also gets a follow-up at every SOP step. A closure ends the chat
conversation; a move to another agency takes the chat along. Each message becomes a row of
intake.deliveries keyed by the case and the event's id, so a redelivered event changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from services.intake.agencies import conversation_sender
from services.intake.draft import delivery_id
from services.intake.inbox import Inbox
from services.intake.outbound.dispatcher import CHATS
from services.intake.outbound.messages import purpose_of, recipient, told_on
from services.intake.records import Delivery, Rows
from services.intake.store import SubmissionRecorder, Submissions
from services.intake.submission import Submission
from shared.channels import Channel
from shared.events import Envelope
from shared.events.workflow import CaseReopened, CaseTransferred
from shared.messaging import Consumer
from shared.sop import PROVINCE
from shared.vocabulary import CLOSING_EVENTS

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
)


def _rows_for(inbox: Inbox, envelope: Envelope, rows: Rows) -> None:
    submissions = inbox.submissions
    submission = submissions.submission(envelope.subject)
    if submission is None:
        return  # not a submission of ours
    moved = envelope.data
    # Moved (or declined): its officers now read it. An erased one too: the erasure requests
    # and the rights over its remains are the new agency's.
    if isinstance(moved, CaseTransferred):
        rows.agencies.append((submission.id, moved.to_agency, envelope.time))
        _move_chat(inbox, submission, moved.to_agency, rows)
    # Neither an erased case (forgotten) nor one from the old register (nobody was told of it
    # on a channel, nor is now) is followed further.
    if submission.erased_at is None and submission.history is None:
        _follow(submissions, submission, envelope, rows)


def _follow(
    submissions: Submissions, submission: Submission, envelope: Envelope, rows: Rows
) -> None:
    """Where the case stands (step, closure) and what its complainant is told of the event."""
    moved = envelope.data
    name = envelope.data.name
    closing = name in CLOSING_EVENTS
    progress = "next_step" in type(moved).model_fields  # an event that moves the case on
    channel = Channel(submission.received.channel)
    if closing:
        rows.ended.append(submission.id)
        rows.closed.append((submission.id, envelope.time))
    if name == CaseReopened.name:
        rows.reopened.append(submission.id)
    if isinstance(moved, CaseTransferred):  # at the first step after submission there
        rows.steps.append((submission.id, moved.current_step))
    elif closing or progress or name == CaseReopened.name:
        step = envelope.data.get("next_step") or envelope.data.get("step")
        rows.steps.append((submission.id, None if closing else step))
    purpose = purpose_of(name, channel, progress=progress)
    if envelope.data.get("lapor_ref"):
        purpose = None  # SP4N-LAPOR!'s own disposisi: telling LAPOR! of it would only echo it
    if purpose is not None:
        _tell(submissions, submission, envelope, purpose, rows)


def _move_chat(inbox: Inbox, submission: Submission, agency: str, rows: Rows) -> None:
    """The complainant's open chat moves with the case to the agency that has it now: their
    next message to that agency's number or account joins it. In the coordinator's queue (no
    number of its own) the chat stays where it was."""
    if agency == PROVINCE or Channel(submission.received.channel) not in CHATS:
        return
    key = inbox.submissions.personal_key(submission.received.personal_ref)
    contact = key.open(submission.received.sealed).get("contact") if key else None
    if not contact or not contact.get("account") or not contact.get("account_channel"):
        return
    channel = str(contact["account_channel"])
    sender = conversation_sender(
        inbox.pseudonyms,
        home=inbox.settings.agency,
        channel=channel,
        account=str(contact["account"]),
        agency=agency,
    )
    rows.chats_moved.append((submission.id, channel, sender))


def _tell(
    submissions: Submissions,
    submission: Submission,
    envelope: Envelope,
    purpose: str,
    rows: Rows,
) -> None:
    """A delivery on the complainant's channel, if they can be told (one per case and event)."""
    key = submissions.personal_key(submission.received.personal_ref)
    if key is None:
        return
    contact = key.open(submission.received.sealed).get("contact")
    channel = told_on(Channel(submission.received.channel), contact)
    if channel is None or recipient(channel, submission, contact) is None:
        return
    details: dict[str, Any] = {"event": envelope.data.name}
    answer = envelope.data.get("public_answer")
    if answer:
        details["answer"] = answer
    message = envelope.data.get("public_message")
    if message:  # masked (as published); the complainant's own channel quotes it in clear
        details["message"] = message
    rows.deliveries.append(
        Delivery(
            delivery_id(submission.id, f"{purpose}:{envelope.id}"),
            submission.id,
            channel.value,
            purpose,
            key.seal(details),
        )
    )


def _handle(inbox: Inbox, envelopes: Sequence[Envelope]) -> bool:
    def rows_of(fresh: list[Envelope]) -> Rows:
        rows = Rows()
        for envelope in fresh:
            _rows_for(inbox, envelope, rows)
        return rows

    recorder = inbox.submissions.recorder
    assert isinstance(recorder, SubmissionRecorder)
    return bool(recorder.follow(envelopes, rows_of).deliveries)


def consumer(inbox: Inbox, wake: Callable[[], None]) -> Consumer:
    """Intake's consumer of workflow events."""

    async def handle(envelopes: Sequence[Envelope]) -> None:
        if await asyncio.to_thread(_handle, inbox, envelopes):
            wake()

    return Consumer(service="intake", handle=handle, transient=TRANSIENT)
