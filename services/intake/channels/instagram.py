"""Instagram messaging webhook: Meta's `instagram` notifications, the same rules as WhatsApp.

Each `messaging` event does what the kinds table (channels/kinds.py) says: messages and
postbacks open or join the sender's submission, an edit or a deletion amends an earlier
message; echoes of our own replies, unsupported messages, reactions, reads, referrals and
`changes` (comments, mentions) are acknowledged and open nothing. Attachments keep their CDN
URL and type.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any, Self

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.intake.api import CurrentInbox, CurrentLimiter
from services.intake.channels.kinds import ANY_OTHER, Effect, kind_of
from services.intake.channels.meta import (
    HANDSHAKE_RESPONSES,
    SIGNED_BODY,
    WEBHOOK_RESPONSES,
    ChatMessage,
    each_of_shape,
    handshake,
    ingest,
    sent_at,
    signed_payload,
)
from services.intake.draft import Attachment
from shared.channels import Channel

router = APIRouter(prefix="/v1/webhooks/instagram", tags=["instagram"])
log = logging.getLogger(__name__)

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
    "ig_post": "text/plain",  # a shared post (Meta's form since November 2025, for `share`)
    "fallback": "text/plain",  # a shared link
}
UNREADABLE = "[Pesan Instagram yang tidak dapat dibaca; isi aslinya tersimpan sebagai data.]"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")

    def _no_null(self, *fields: str) -> Self:
        """Refuse a null Meta sent where a value was expected (left out is another matter)."""
        nulls = [f for f in fields if f in self.model_fields_set and getattr(self, f) is None]
        if nulls:
            raise ValueError(f"null where a value was expected: {', '.join(nulls)}")
        return self


class Party(_Open):
    id: str


class IgAttachment(_Open):
    type: str
    payload: dict[str, Any] | None = None  # Meta sends null for some (a link's fallback)


class QuickReply(_Open):
    payload: str | None = None


class IgMessage(_Open):
    mid: str
    text: str | None = None
    attachments: list[IgAttachment] = Field(default_factory=list)
    quick_reply: QuickReply | None = None
    is_echo: bool = False
    is_deleted: bool = False
    is_unsupported: bool = False

    @model_validator(mode="after")
    def _has_its_text(self) -> Self:
        return self._no_null("text")


class MessageEdit(_Open):
    mid: str
    text: str = ""
    num_edit: int = 1


class Postback(_Open):
    mid: str | None = None
    title: str = ""
    payload: str | None = None


class Messaging(_Open):
    sender: Party
    recipient: Party
    timestamp: float
    message: IgMessage | None = None
    message_edit: MessageEdit | None = None
    postback: Postback | None = None

    @model_validator(mode="after")
    def _has_its_objects(self) -> Self:
        return self._no_null("message", "message_edit", "postback")


class Entry(_Open):
    id: str
    time: float | None = None
    messaging: list[Any] | None = None  # each read on its own


class Notification(_Open):
    object: str
    entry: list[Any]  # each read on its own (meta.each_of_shape)


def _attachments(message: IgMessage) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            filename=f"{attachment.type}-{number}",
            content_type=ATTACHMENT_TYPES.get(attachment.type, "application/octet-stream"),
            reference=str((attachment.payload or {}).get("url", "")) or None,
        )
        for number, attachment in enumerate(message.attachments, 1)
    )


FLAGS = ("is_echo", "is_deleted", "is_unsupported")


def kind_name(event: Messaging) -> str:
    """The event's kind as the table names it."""
    if event.message is not None:
        flag = next((f for f in FLAGS if getattr(event.message, f)), None)
        if flag:
            return f"message/{flag}"
        return "message/quick_reply" if event.message.quick_reply else "message"
    if event.message_edit is not None:
        return "message_edit"
    if event.postback is not None:
        return "postback"
    extra = sorted(set(event.model_extra or {}))
    return extra[0] if extra else "(empty)"


def _content(event: Messaging) -> dict[str, Any]:
    """Text, files and data of a message or a postback."""
    if event.postback is not None:
        postback = event.postback
        return {
            "text": postback.title,
            "data": {"postback": postback.model_dump(exclude_none=True)},
        }
    assert event.message is not None
    message = event.message
    quick = message.quick_reply
    data = {"quick_reply": quick.model_dump(exclude_none=True)} if quick else None
    return {"text": message.text or "", "attachments": _attachments(message), "data": data}


def _chat_message(event: Messaging, account: str) -> ChatMessage | None:
    """The event as the kinds table decides it (`Effect.IGNORED` when it opens nothing); None
    for an event that is no message of its own (a read, a reaction)."""
    kind = kind_of(Channel.INSTAGRAM, kind_name(event))
    if kind.name == ANY_OTHER:
        log.warning("instagram event of an unknown kind %r acknowledged", kind_name(event))
    if kind.effect is Effect.CONTENT:
        mid = event.message.mid if event.message else (event.postback and event.postback.mid)
        message_id, fields = mid or _postback_id(event.sender.id, event.timestamp), _content(event)
    elif kind.effect is Effect.EDIT and event.message_edit is not None:
        edit = event.message_edit
        message_id = f"{edit.mid}#edit{edit.num_edit}"
        fields = {"text": edit.text, "amends": edit.mid}
    elif kind.effect is Effect.WITHDRAW and event.message is not None:
        message_id = f"{event.message.mid}#deleted"
        fields = {"text": "", "amends": event.message.mid}
    elif event.message is not None and event.message.mid:  # unsupported, an echo: its id kept
        message_id, fields = event.message.mid, {"text": "", "effect": Effect.IGNORED}
    else:
        return None  # a read, a reaction: no message of its own
    chat = ChatMessage(
        channel=Channel.INSTAGRAM,
        message_id=message_id,
        account=event.sender.id,
        name=None,
        sent_at=sent_at(event.timestamp / 1000),
        recipient=account,
        **({"effect": kind.effect} | fields),
    )
    return chat if chat.worth_keeping else replace(chat, effect=Effect.IGNORED)


def messages_of(notification: Notification) -> list[ChatMessage]:
    """Every message of the notification's events, in order: what the kinds table keeps, and
    what it ignores (`Effect.IGNORED`: only its id is remembered); `changes` open nothing."""
    found = []
    for entry in each_of_shape(Entry, notification.entry, "instagram entry"):
        for raw in entry.messaging or []:
            if not isinstance(raw, dict):
                log.warning(
                    "instagram messaging event not of Meta's shape (not an object): ignored"
                )
                continue
            chat = _one(raw, entry.id)  # the account written to: its agency's
            if chat is not None:
                found.append(chat)
    return found


def _one(raw: dict[str, Any], account: str) -> ChatMessage | None:
    """One messaging event, read as its kind says. One that does not fit the shapes known here
    costs the others nothing: kept whole for an officer (and answered) when it names its sender
    and its message, else logged."""
    try:
        return _chat_message(Messaging.model_validate(raw), account)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
        reason = type(error).__name__
    sender, message = raw.get("sender"), raw.get("message")
    sender_id = sender.get("id") if isinstance(sender, dict) else None
    mid = _mid_of(raw, sender_id)
    if not isinstance(sender_id, str) or not mid or not sender_id:
        log.warning("instagram event of unknown shape (%s) acknowledged, not kept", reason)
        return None
    if isinstance(message, dict) and any(message.get(flag) for flag in FLAGS):
        # our own reply echoed, a deletion, a kind Instagram cannot show: no complainant's words
        log.warning("instagram message %s flagged, of unknown shape (%s): ignored", mid, reason)
        return None
    log.warning("instagram message %s of unknown shape (%s): kept whole", mid, reason)
    timestamp = raw.get("timestamp")
    return ChatMessage(
        channel=Channel.INSTAGRAM,
        message_id=mid,
        account=sender_id,
        name=None,
        sent_at=sent_at(_seconds(timestamp)),
        recipient=account,
        text=UNREADABLE,
        data={"unreadable": raw},
    )


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


def _postback_id(sender: str, timestamp: float) -> str:
    """A postback's id when Meta gives it no `mid` (its sender and moment: a redelivery's too)."""
    return f"postback:{sender}:{timestamp}"


def _mid_of(raw: dict[str, Any], sender: Any) -> str | None:
    """The id of an event not of its shape: its message's `mid`; a postback's (whatever its
    object holds) as a postback of its shape has it."""
    message, postback = raw.get("message"), raw.get("postback")
    if isinstance(message, dict):
        mid = message.get("mid")
        return mid if isinstance(mid, str) and mid else None
    if "postback" not in raw or message is not None or not isinstance(sender, str):
        return None
    mid = postback.get("mid") if isinstance(postback, dict) else None
    if isinstance(mid, str) and mid:
        return mid
    try:
        return _postback_id(sender, float(raw["timestamp"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _seconds(milliseconds: Any) -> float:
    try:
        return float(milliseconds) / 1000
    except (TypeError, ValueError, OverflowError):
        return 0.0  # not believed: now
