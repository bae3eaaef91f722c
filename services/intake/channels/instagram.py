"""Instagram messaging webhook: Meta's `instagram` notifications, the same rules as WhatsApp.

`messaging` entries with a `message` become submissions; echoes of our own replies, deleted
and unsupported messages, reactions, reads, postbacks, referrals and `changes` (comments,
mentions) are acknowledged and ignored. Attachments keep their CDN URL and type.
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

router = APIRouter(prefix="/v1/webhooks/instagram", tags=["instagram"])

# Instagram names the kind of an attachment, not its media type.
ATTACHMENT_TYPES = {
    "image": "image/jpeg",
    "animated_image": "image/webp",
    "video": "video/mp4",
    "audio": "audio/mp4",
    "share": "text/plain",
    "story_mention": "text/plain",
    "ig_reel": "text/plain",
    "reel": "text/plain",
}


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Party(_Open):
    id: str


class IgAttachment(_Open):
    type: str
    payload: dict[str, Any] = Field(default_factory=dict)


class IgMessage(_Open):
    mid: str
    text: str | None = None
    attachments: list[IgAttachment] = Field(default_factory=list)
    is_echo: bool = False
    is_deleted: bool = False
    is_unsupported: bool = False


class Messaging(_Open):
    sender: Party
    recipient: Party
    timestamp: float
    message: IgMessage | None = None


class Entry(_Open):
    id: str
    time: float | None = None
    messaging: list[Messaging] = Field(default_factory=list)


class Notification(_Open):
    object: str
    entry: list[Entry]


def _attachments(message: IgMessage) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            filename=f"{attachment.type}-{number}",
            content_type=ATTACHMENT_TYPES.get(attachment.type, "application/octet-stream"),
            reference=str(attachment.payload.get("url", "")) or None,
        )
        for number, attachment in enumerate(message.attachments, 1)
    )


def _wanted(event: Messaging) -> bool:
    message = event.message
    return not (message is None or message.is_echo or message.is_deleted or message.is_unsupported)


def messages_of(notification: Notification) -> list[ChatMessage]:
    """Every message a notification carries, in order; the rest is ignored."""
    found = []
    for entry in notification.entry:
        for event in entry.messaging:
            if not _wanted(event):
                continue
            assert event.message is not None
            found.append(
                ChatMessage(
                    channel=Channel.INSTAGRAM,
                    message_id=event.message.mid,
                    account=event.sender.id,
                    name=None,
                    sent_at=sent_at(event.timestamp / 1000),
                    text=event.message.text or "",
                    attachments=_attachments(event.message),
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
    expected = inbox.settings.instagram_verify_token.get_secret_value()
    return handshake(mode, token, challenge, expected)


@router.post("", responses=WEBHOOK_RESPONSES, openapi_extra=SIGNED_BODY)
async def receive(request: Request, inbox: CurrentInbox, limiter: CurrentLimiter) -> dict[str, Any]:
    """A signed notification: messages become submissions, everything else is acknowledged."""
    secret = inbox.settings.instagram_app_secret.get_secret_value()
    notification = await signed_payload(request, secret, Notification, "instagram")
    return {"received": await ingest(inbox, limiter, messages_of(notification))}
