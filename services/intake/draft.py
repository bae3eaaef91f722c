"""A submission as a channel hands it over, before it is sealed and stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from services.intake.records import Conversation, Delivery, Rows, StoredAttachment
from services.intake.store import Pending
from services.intake.submission import Received, Submission, submission_id
from shared.blobs import Blob
from shared.channels import Channel
from shared.sealing import SealingKey
from shared.sop import Kind

DELIVERY_NAMESPACE = UUID("3f0f3f8e-5a43-4d7a-9a55-1f6b7c2e8d90")


@dataclass(frozen=True)
class Contact:
    """Who the complainant is, as far as they told us (or their channel did)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    nik: str | None = None
    address: str | None = None
    account: str | None = None  # the channel's own id: WhatsApp number, Instagram id
    account_channel: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file that came with a message: its content, or where the channel keeps it."""

    filename: str
    content_type: str
    content: bytes | None = None
    reference: str | None = None  # a media id or URL at the channel (Meta keeps the file)
    caption: str | None = None

    @property
    def size(self) -> int:
        """Bytes of content (0 for a reference)."""
        return len(self.content or b"")


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
    attachments: tuple[Attachment, ...] = ()
    sender: str | None = None  # keyed hash of the channel account: the conversation's key
    identities: tuple[str, ...] = ()  # keyed hashes an erasure finds the person by
    receipt: bool = False  # send the tracking code back on the channel after the commit


@dataclass(frozen=True)
class Receipt:
    """What the channel tells the complainant: the tracking code, and whether it is a repeat."""

    tracking_code: str
    case_id: str
    replayed: bool
    added: bool = False  # joined an open submission instead of opening one


def delivery_id(case_id: UUID, purpose: str) -> UUID:
    """One delivery per case and purpose (a closure: per source event)."""
    return uuid5(DELIVERY_NAMESPACE, f"{case_id}:{purpose}")


def seal_attachments(
    key: SealingKey, case_id: UUID, attachments: tuple[Attachment, ...]
) -> tuple[list[dict[str, Any]], list[StoredAttachment], list[Blob]]:
    """What the sealed payload lists, the attachment rows, and their sealed bytes to store."""
    listed, stored, blobs = [], [], []
    for attachment in attachments:
        attachment_id = uuid4()
        entry: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "reference": attachment.reference,
            "caption": attachment.caption,
        }
        if attachment.content is not None:
            blob = Blob.of(case_id, key.encrypt(attachment.content))
            entry["blob"] = blob.hash
            blobs.append(blob)
            stored.append(
                StoredAttachment(
                    attachment_id, case_id, attachment.content_type, attachment.size, blob.hash
                )
            )
        listed.append(entry)
    return listed, stored, blobs


def _rows(draft: Draft, case_id: UUID, stored: list[StoredAttachment]) -> Rows:
    rows = Rows(attachments=stored)
    if not draft.anonymous:
        rows.identities = [(digest, case_id) for digest in draft.identities]
    if draft.sender:
        rows.conversations = [
            Conversation(draft.channel.value, draft.sender, case_id, draft.received_at)
        ]
    if draft.receipt:
        rows.deliveries = [
            Delivery(delivery_id(case_id, "receipt"), case_id, draft.channel.value, "receipt")
        ]
    return rows


def to_pending(draft: Draft) -> Pending:
    """Seal the text and identity under a new personal key; anonymous means no identity."""
    key = SealingKey.new()
    case_id = submission_id(draft.channel, draft.message_id)
    contact = None if draft.anonymous or draft.contact is None else vars(draft.contact)
    listed, stored, blobs = seal_attachments(key, case_id, draft.attachments)
    sealed = key.seal({"text": draft.text, "contact": contact, "attachments": listed})

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

    return Pending(
        case_id=case_id,
        build=build,
        key=key,
        fingerprint=draft.fingerprint,
        rows=_rows(draft, case_id, stored),
        blobs=blobs,
    )


@dataclass(frozen=True)
class Addition:
    """A later message that joins an open submission."""

    channel: Channel
    message_id: str
    text: str
    received_at: datetime
    attachments: tuple[Attachment, ...] = ()
    sender: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    reply: bool = False  # the complainant's reply on their tracking page
