"""A submission as a channel hands it over, before it is sealed and stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.store import Pending, Writer
from services.intake.submission import Received, Submission, submission_id
from shared.channels import Channel
from shared.problems import Problem
from shared.sealing import SealingKey
from shared.sop import Kind


@dataclass(frozen=True)
class Contact:
    """Who the complainant is, as far as they told us."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    nik: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Draft:
    """Everything a channel knows about one submission."""

    kind: Kind
    channel: Channel
    text: str
    received_at: datetime
    agency: str
    message_id: str | None = None
    category: str | None = None
    contact: Contact | None = None
    anonymous: bool = False
    confidential: bool = False
    fingerprint: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What the channel tells the complainant: the tracking code, and whether it is a repeat."""

    tracking_code: str
    case_id: str
    replayed: bool


def to_pending(draft: Draft) -> Pending:
    """Seal the text and identity under a new personal key; anonymous means no identity."""
    key = SealingKey.new()
    contact = None if draft.anonymous or draft.contact is None else vars(draft.contact)
    sealed = key.seal({"text": draft.text, "contact": contact})
    case_id = submission_id(draft.channel, draft.message_id)

    def build(code: str) -> Submission:
        received = Received(
            kind=draft.kind.value,
            channel=draft.channel.value,
            channel_message_id=draft.message_id,
            tracking_code=code,
            agency=draft.agency,
            received_at=draft.received_at,
            category=draft.category,
            anonymous=draft.anonymous,
            confidential=draft.confidential,
            personal_ref=key.ref,
            sealed=sealed,
        )
        return Submission.receive(id=case_id, received=received)

    return Pending(case_id=case_id, build=build, key=key, fingerprint=draft.fingerprint)


async def submit(writer: Writer, draft: Draft) -> Receipt:
    """Store a draft durably; a repeat of a stored message returns the original receipt."""
    outcome = await writer.write(to_pending(draft))
    row = outcome.row
    if outcome.replayed and draft.fingerprint and row.fingerprint != draft.fingerprint:
        raise Problem(
            422,
            "Idempotency-Key ini sudah dipakai untuk pengaduan dengan isi yang berbeda.",
            code="idempotency-key-reused",
        )
    return Receipt(row.tracking_code, str(row.case_id), outcome.replayed)
