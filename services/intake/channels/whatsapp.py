"""WhatsApp Cloud API webhook: Meta's `whatsapp_business_account` notifications.

Each message does what the kinds table (channels/kinds.py) says: content opens or joins the
sender's submission (a burst joins one), an edit or a revoke amends an earlier message, the
rest is acknowledged and opens nothing. Media stays on Meta's servers until fetched: the
submission keeps its media id, type and caption.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from services.intake.api import CurrentInbox, CurrentLimiter
from services.intake.channels.cloud_api import Content, Message, Open, kind_name, media_of, read
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
from services.intake.reach import store_call
from shared.channels import Channel
from shared.problems import Problem

router = APIRouter(prefix="/v1/webhooks/whatsapp", tags=["whatsapp"])

log = logging.getLogger(__name__)


class Profile(Open):
    name: str | None = None


class WaContact(Open):
    """The sender: a phone number (`wa_id`), and the business-scoped user id (BSUID,
    `user_id`) that a user with a WhatsApp username may have instead of a number shown."""

    wa_id: str | None = None
    user_id: str | None = None
    profile: Profile | None = None


class Metadata(Open):
    phone_number_id: str = ""  # the business number written to: its agency's


# A notification's parts are each read on their own (meta.each_of_shape): one of the wrong
# shape costs the others nothing.


class Value(Open):
    messaging_product: str | None = "whatsapp"
    metadata: Metadata | None = None
    contacts: list[Any] | None = None
    messages: list[Any] | None = None
    statuses: list[Any] | None = None


class Change(Open):
    field: str
    value: dict[str, Any]


class Entry(Open):
    id: str
    changes: list[Any] = Field(default_factory=list)


class Notification(Open):
    object: str
    entry: list[Any]


def _attachments(content: Content) -> tuple[Attachment, ...]:
    media = media_of(content)
    if media is None:
        return ()
    filename = media.filename or f"{content.type}-{media.id}"
    return (
        Attachment(
            filename=filename,
            content_type=media.mime_type,
            reference=f"whatsapp-media:{media.id}",
            caption=media.caption,
        ),
    )


UNREADABLE = "[Pesan WhatsApp yang tidak dapat dibaca; isi aslinya tersimpan sebagai data.]"


def _chat_message(message: Message, name: str | None, number: str) -> ChatMessage:
    """The message as the kinds table decides it (`Effect.IGNORED` when it opens nothing)."""
    kind = kind_of(Channel.WHATSAPP, kind_name(message))
    if kind.name == ANY_OTHER:
        log.warning("whatsapp message of an unknown kind %r acknowledged", kind_name(message))
    fields: dict[str, Any] = {"effect": kind.effect}
    if kind.effect is Effect.CONTENT:
        text, data = read(message)
        fields |= {"text": text, "data": data, "attachments": _attachments(message)}
    elif kind.effect is Effect.EDIT and message.edit is not None:
        text, _ = read(message.edit.message)
        fields |= {"text": text, "amends": message.edit.original_message_id}
    elif kind.effect is Effect.WITHDRAW and message.revoke is not None:
        fields |= {"text": "", "amends": message.revoke.original_message_id}
    else:
        fields = {"effect": Effect.IGNORED, "text": ""}  # acknowledged, and its id remembered
    assert message.account is not None
    chat = ChatMessage(
        channel=Channel.WHATSAPP,
        message_id=message.id,
        account=message.account,
        name=name,
        sent_at=sent_at(float(message.timestamp)),
        recipient=number,
        **fields,
    )
    return chat if chat.worth_keeping else replace(chat, effect=Effect.IGNORED)


def values_of(notification: Notification) -> list[Value]:
    """The `messages` field's values of every entry's changes, each read once (a part of the
    wrong shape is logged once and costs the others nothing); calls, account updates and
    templates hold nothing a citizen wrote."""
    found: list[Value] = []
    for entry in each_of_shape(Entry, notification.entry, "whatsapp entry"):
        for change in each_of_shape(Change, entry.changes, "whatsapp change"):
            if change.field == "messages":
                found += each_of_shape(Value, [change.value], "whatsapp change's value")
    return found


def undelivered_of(values: list[Value]) -> list[tuple[str, str]]:
    """The messages of ours the values report failed (`statuses`, status `failed`): each one's
    id and why, as Meta says it (a receipt past the 24 hours, a number not on WhatsApp)."""
    found = []
    for value in values:
        for status in value.statuses or []:
            if not isinstance(status, dict) or status.get("status") != "failed":
                continue
            if isinstance(wamid := status.get("id"), str) and wamid:
                found.append((wamid[:200], _why_failed(status.get("errors"))))
    return found


def _why_failed(errors: Any) -> str:
    """A failure's reason for the officers: Meta's title and code."""
    first = errors[0] if isinstance(errors, list) and errors else {}
    first = first if isinstance(first, dict) else {}
    title, code = str(first.get("title") or "tanpa keterangan")[:200], first.get("code")
    return f"WhatsApp tidak dapat mengantarkannya: {title}" + (f" (kode {code})" if code else "")


def messages_of(values: list[Value]) -> list[ChatMessage]:
    """Every message the values carry, in order: what the kinds table keeps, and what it
    ignores (`Effect.IGNORED`: a reaction, a kind not shown; only its id is remembered)."""
    found = []
    for value in values:
        number = (value.metadata or Metadata()).phone_number_id
        contacts = list(each_of_shape(WaContact, value.contacts or [], "whatsapp contact"))
        for raw in value.messages or []:
            if not isinstance(raw, dict):
                log.warning("whatsapp message not of Meta's shape (not an object): ignored")
                continue
            if (chat := _one(raw, contacts, number)) is not None:
                found.append(chat)
    return found


def _one(raw: dict[str, Any], contacts: list[WaContact], number: str) -> ChatMessage | None:
    """One message of a change, read as its kind says. One that does not fit the Cloud API's
    shapes costs the others nothing: it is kept whole for an officer to read, and its sender is
    answered as for any message; without an id or a sender it cannot be kept, and is logged."""
    message_id, number_of, user_of = (_text(raw, key) for key in ("id", "from", "from_user_id"))
    contact = _contact(number_of, user_of, contacts)
    account = number_of or user_of or (contact.user_id if contact else None)
    if not message_id or not account:
        log.warning("whatsapp message without an id or a sender acknowledged, not kept")
        return None
    name = contact.profile.name if contact and contact.profile else None
    try:
        message = Message.model_validate(raw).model_copy(update={"account": account})
        return _chat_message(message, name, number)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
        reason = type(error).__name__
    kind = str(raw.get("type"))[:40]
    if _effect_of(raw) is not Effect.CONTENT:  # an amendment, a reaction
        log.warning(
            "whatsapp message %s of kind %r not of its shape (%s): ignored",
            message_id,
            kind,
            reason,
        )
        return None
    log.warning(
        "whatsapp message %s of kind %r not of its shape (%s): kept whole", message_id, kind, reason
    )
    return ChatMessage(
        channel=Channel.WHATSAPP,
        message_id=message_id,
        account=account,
        name=name,
        sent_at=sent_at(_seconds(raw.get("timestamp"))),
        recipient=number,
        text=UNREADABLE,
        data={"unreadable": raw},
    )


def _effect_of(raw: dict[str, Any]) -> Effect:
    """What a message not of its shape does, as far as its kind can be told: an interactive
    message whose object is not one could be a reply of any kind, so it is kept, as is one
    that names no kind."""
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        return Effect.CONTENT
    if kind == "interactive":
        inner = raw.get(kind)
        if not isinstance(inner, dict):
            return Effect.CONTENT
        kind = f"interactive/{inner.get('type')}"
    return kind_of(Channel.WHATSAPP, kind).effect


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value else None


def _contact(number: str | None, user: str | None, contacts: list[WaContact]) -> WaContact | None:
    """The change's contact of the message's sender, by number or BSUID (the only one if the
    message names neither)."""
    for contact in contacts:
        if (number and contact.wa_id == number) or (user and contact.user_id == user):
            return contact
    return contacts[0] if len(contacts) == 1 and not (number or user) else None


def _seconds(timestamp: Any) -> float:
    try:
        return float(timestamp)
    except (TypeError, ValueError, OverflowError):
        return 0.0  # not believed: now


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
        values = values_of(notification)
        messages, undelivered = messages_of(values), undelivered_of(values)
    except ValueError as error:  # a message field of the wrong shape
        raise Problem(422, "Isi webhook tidak sesuai format Meta.", code="validation") from error
    if undelivered:  # failed on the way: the officers see it among the failed messages
        await store_call(inbox.undelivered, Channel.WHATSAPP, undelivered)
    return {"received": await ingest(inbox, limiter, messages)}
