"""A submission as a channel hands it over, before it is sealed and stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

from services.intake.outbound.messages import told_on
from services.intake.records import Conversation, Delivery, Rows, StoredAttachment
from services.intake.store import Pending
from services.intake.submission import Received, Submission, submission_id
from shared.blobs import Blob
from shared.channels import Channel
from shared.sealing import SealingKey
from shared.sop import Kind
from shared.text import without_control_characters, without_control_characters_in

BELIEVED_DAYS = 30
"""How far back a sender's own word on when it sent is believed (a chat platform's backlog, a
mail's Date): older, or later than now, the moment it arrives counts instead. A complaint's
received time starts its 14 working days: a forged old date must not make it overdue at once."""


EARLIEST = date(2000, 1, 1)
"""The first day a complaint may have been received (a register's oldest rows; before it, a
time is a placeholder: Go's unset time is year 1)."""


def believed(claimed: datetime | None) -> datetime:
    """The sender's time of sending if within the last `BELIEVED_DAYS` days and not later than
    now (a time without a zone is not believed); else now."""
    now = datetime.now(UTC)
    if claimed is None or claimed.tzinfo is None:
        return now
    return min(claimed, now) if claimed > now - timedelta(days=BELIEVED_DAYS) else now


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
class Refusal:
    """A file that came with a message and could not be kept: its name, type and why."""

    filename: str
    content_type: str
    code: str  # a key of services/intake/outbound/messages.py WHY
    reason: str  # the refusal's detail, in Bahasa Indonesia

    def listed(self) -> dict[str, str]:
        """As the sealed payload lists it (officers see it; the receipt names it)."""
        return vars(self).copy()


class Typed:
    """What a channel hands over passes here: its text and its structured data hold no control
    character nor half an emoji (a lone surrogate), which storing or sealing would refuse."""

    def __post_init__(self) -> None:
        text = getattr(self, "text", None)
        if text is not None:
            object.__setattr__(self, "text", without_control_characters(text))
        data = getattr(self, "data", None)
        if data is not None:
            object.__setattr__(self, "data", without_control_characters_in(data))


@dataclass(frozen=True)
class Draft(Typed):
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
    receipt: bool = False  # tell the tracking code on the complainant's channel after the commit
    refused: tuple[Refusal, ...] = ()  # files that came with it and could not be kept
    data: dict[str, Any] | None = None  # structured answers (an order, a form, a location)
    named: tuple[Refusal, ...] = ()  # refused files of the sender's next messages the receipt
    # names too (they came in the same notification and join the case this one opens)
    extra: dict[str, Any] = field(default_factory=dict)  # more to seal with the text


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


def content(
    text: str,
    listed: list[dict[str, Any]],
    refused: tuple[Refusal, ...],
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    """What a message's sealed payload holds (refusals and data only when there are some)."""
    sealed: dict[str, Any] = {"text": text, "attachments": listed}
    if refused:
        sealed["refused"] = [refusal.listed() for refusal in refused]
    if data:
        sealed["data"] = data
    return sealed


def refusal_notice(key: SealingKey, refused: tuple[Refusal, ...]) -> str | None:
    """A delivery's sealed details naming the refused files (None when there are none)."""
    return key.seal({"refused": [r.listed() for r in refused]}) if refused else None


def refusal_deliveries(
    key: SealingKey, case_id: UUID, channel: Channel, message_id: str, refused: tuple[Refusal, ...]
) -> list[Delivery]:
    """A later message with refused files: the sender is told which, after the commit, in a
    notice of its own (a new submission's receipt names them instead)."""
    if not refused:
        return []
    purpose = f"refusal:{message_id}"
    notice = refusal_notice(key, refused)
    return [Delivery(delivery_id(case_id, purpose), case_id, channel.value, "refusal", notice)]


def _rows(
    draft: Draft,
    case_id: UUID,
    stored: list[StoredAttachment],
    key: SealingKey,
    mentioned: Iterable[str],
) -> Rows:
    rows = Rows(attachments=stored, mentions=[(digest, case_id) for digest in mentioned])
    if not draft.anonymous:
        rows.identities = [(digest, case_id) for digest in draft.identities]
    if draft.sender:
        rows.conversations = [
            Conversation(draft.channel.value, draft.sender, case_id, draft.received_at)
        ]
    contact = None if draft.anonymous or draft.contact is None else vars(draft.contact)
    told = told_on(draft.channel, contact) if draft.receipt else None
    if told is not None:
        rows.deliveries = [
            Delivery(
                delivery_id(case_id, "receipt"),
                case_id,
                told.value,
                "receipt",
                refusal_notice(key, (*draft.refused, *draft.named)),
            )
        ]
    return rows


def to_pending(draft: Draft, mentioned: Iterable[str] = ()) -> Pending:
    """Seal the text and identity under a new personal key; anonymous means no identity.
    `mentioned`: the keyed hashes of the identifiers typed into the text (indexed always)."""
    key = SealingKey.new()
    case_id = submission_id(draft.channel, draft.message_id)
    contact = None if draft.anonymous or draft.contact is None else vars(draft.contact)
    listed, stored, blobs = seal_attachments(key, case_id, draft.attachments)
    said = content(draft.text, listed, draft.refused, draft.data)
    sealed = key.seal(draft.extra | said | {"contact": contact})

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
        rows=_rows(draft, case_id, stored, key, mentioned),
        blobs=blobs,
        agency=draft.agency,
    )


@dataclass(frozen=True)
class Addition(Typed):
    """A later message that joins an open submission."""

    channel: Channel
    message_id: str
    text: str
    received_at: datetime
    attachments: tuple[Attachment, ...] = ()
    sender: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    refused: tuple[Refusal, ...] = ()
    data: dict[str, Any] | None = None
    notify: bool = True  # name refused files back to the sender (False: a receipt named them)
    reply: bool = False  # on their tracking page (an open case's additions are replies anyway)


@dataclass(frozen=True)
class Amendment(Typed):
    """A later message that changes an earlier one: an edit (new text) or a withdrawal."""

    channel: Channel
    message_id: str  # the amendment's own id
    amends: str  # the id of the message it changes
    received_at: datetime
    text: str | None  # the new text; None: the message was withdrawn
