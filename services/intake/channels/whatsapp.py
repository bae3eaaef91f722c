"""WhatsApp Cloud API webhook: Meta's `whatsapp_business_account` notifications.

Messages become submissions (a sender's burst joins one); statuses, reactions, system and
unsupported messages, and other fields are acknowledged and ignored. Media stays on Meta's
servers until fetched: the submission keeps its media id, type and caption.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.intake.api import CurrentInbox, CurrentLimiter
from services.intake.channels.meta import (
    HANDSHAKE_RESPONSES,
    SIGNED_BODY,
    WEBHOOK_RESPONSES,
    ChatMessage,
    handshake,
    ingest,
    sent_at,
    signed_payload,
)
from services.intake.draft import Attachment
from shared.channels import Channel
from shared.problems import Problem

router = APIRouter(prefix="/v1/webhooks/whatsapp", tags=["whatsapp"])

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
IGNORED_TYPES = frozenset({"reaction", "system", "unsupported", "unknown", "request_welcome"})


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Media(_Open):
    id: str
    mime_type: str = "application/octet-stream"
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class Text(_Open):
    body: str


class Location(_Open):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class Reply(_Open):
    id: str
    title: str


class Interactive(_Open):
    type: str
    button_reply: Reply | None = None
    list_reply: Reply | None = None


class Button(_Open):
    text: str
    payload: str | None = None


class Message(_Open):
    sender: str = Field(alias="from")
    id: str
    timestamp: str
    type: str
    text: Text | None = None
    image: Media | None = None
    audio: Media | None = None
    video: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: list[dict[str, Any]] | None = None
    interactive: Interactive | None = None
    button: Button | None = None
    order: dict[str, Any] | None = None


class Profile(_Open):
    name: str | None = None


class WaContact(_Open):
    wa_id: str
    profile: Profile | None = None


class Value(_Open):
    messaging_product: str = "whatsapp"
    contacts: list[WaContact] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)


class Change(_Open):
    field: str
    value: dict[str, Any]


class Entry(_Open):
    id: str
    changes: list[Change] = Field(default_factory=list)


class Notification(_Open):
    object: str
    entry: list[Entry]


def _text(message: Message) -> str:
    """The words of a message of any documented type (media: its caption)."""
    if message.text is not None:
        return message.text.body
    media = _media(message)
    if media is not None:
        return media.caption or ""
    if message.location is not None:
        where = message.location
        place = ", ".join(p for p in (where.name, where.address) if p)
        return f"[Lokasi] {place} ({where.latitude}, {where.longitude})".replace(
            "[Lokasi]  ", "[Lokasi] "
        )
    if message.interactive is not None:
        reply = message.interactive.button_reply or message.interactive.list_reply
        return reply.title if reply else ""
    if message.button is not None:
        return message.button.text
    if message.contacts is not None:
        return "[Kontak] " + "; ".join(
            str(card.get("name", {}).get("formatted_name", "")) for card in message.contacts
        )
    if message.order is not None:
        return f"[Pesanan] {message.order.get('text', '')}".strip()
    return ""


def _media(message: Message) -> Media | None:
    return next((getattr(message, kind) for kind in MEDIA_TYPES if getattr(message, kind)), None)


def _attachments(message: Message) -> tuple[Attachment, ...]:
    media = _media(message)
    if media is None:
        return ()
    filename = media.filename or f"{message.type}-{media.id}"
    return (
        Attachment(
            filename=filename,
            content_type=media.mime_type,
            reference=f"whatsapp-media:{media.id}",
            caption=media.caption,
        ),
    )


def messages_of(notification: Notification) -> list[ChatMessage]:
    """Every message a notification carries, in order; the rest is ignored."""
    found = []
    for entry in notification.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue
            value = Value.model_validate(change.value)
            names = {c.wa_id: c.profile.name if c.profile else None for c in value.contacts}
            for message in value.messages:
                if message.type in IGNORED_TYPES:
                    continue
                found.append(
                    ChatMessage(
                        channel=Channel.WHATSAPP,
                        message_id=message.id,
                        account=message.sender,
                        name=names.get(message.sender),
                        sent_at=sent_at(float(message.timestamp)),
                        text=_text(message),
                        attachments=_attachments(message),
                    )
                )
    return found


@router.get("", responses=HANDSHAKE_RESPONSES)
async def verify_subscription(
    inbox: CurrentInbox,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=200)] = None,
) -> Any:
    """Meta's verification request: echo hub.challenge when the verify token matches."""
    expected = inbox.settings.whatsapp_verify_token.get_secret_value()
    return handshake(mode, token, challenge, expected)


@router.post("", responses=WEBHOOK_RESPONSES, openapi_extra=SIGNED_BODY)
async def receive(request: Request, inbox: CurrentInbox, limiter: CurrentLimiter) -> dict[str, Any]:
    """A signed notification: messages become submissions, everything else is acknowledged."""
    secret = inbox.settings.whatsapp_app_secret.get_secret_value()
    notification = await signed_payload(request, secret, Notification, "whatsapp_business_account")
    try:
        messages = messages_of(notification)
    except ValueError as error:  # a message field of the wrong shape
        raise Problem(422, "Isi webhook tidak sesuai format Meta.", code="validation") from error
    return {"received": await ingest(inbox, limiter, messages)}
