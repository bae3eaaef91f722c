"""WhatsApp Cloud API webhook: Meta's `whatsapp_business_account` notifications.

Each message does what the kinds table (channels/kinds.py) says: content opens or joins the
sender's submission (a burst joins one), an edit or a revoke amends an earlier message, the
rest is acknowledged and opens nothing. Media stays on Meta's servers until fetched: the
submission keeps its media id, type and caption.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.intake.api import CurrentInbox, CurrentLimiter
from services.intake.channels.kinds import ANY_OTHER, TABLE, Effect, kind_of
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
log = logging.getLogger(__name__)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Media(_Open):
    id: str
    mime_type: str = "application/octet-stream"
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class Text(_Open):
    body: str = ""


class Location(_Open):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class Reply(_Open):
    id: str | None = None
    title: str = ""
    description: str | None = None


class FlowReply(_Open):
    name: str | None = None
    body: str | None = None
    response_json: str = "{}"


class Interactive(_Open):
    type: str
    button_reply: Reply | None = None
    list_reply: Reply | None = None
    nfm_reply: FlowReply | None = None


class Button(_Open):
    text: str = ""
    payload: str | None = None


class OrderItem(_Open):
    product_retailer_id: str
    quantity: float = 1
    item_price: float | None = None
    currency: str | None = None


class Order(_Open):
    catalog_id: str | None = None
    text: str | None = None
    product_items: list[OrderItem] = Field(default_factory=list)


class Content(_Open):
    """What a message carries, by its type (an edit carries one of these as its new form)."""

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
    order: Order | None = None


class Edit(_Open):
    original_message_id: str
    message: Content


class Revoke(_Open):
    original_message_id: str


class Message(Content):
    sender: str = Field(alias="from")
    id: str
    timestamp: str
    edit: Edit | None = None
    revoke: Revoke | None = None


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


Read = tuple[str, dict[str, Any] | None]  # readable text, and the structured answers if any


def kind_name(content: Content) -> str:
    """The message's kind as the table names it (`interactive/<its type>`)."""
    if content.type == "interactive" and content.interactive is not None:
        name = f"interactive/{content.interactive.type}"
        return name if (Channel.WHATSAPP, name) in TABLE else "interactive"
    return content.type


def _location(where: Location) -> Read:
    place = ", ".join(p for p in (where.name, where.address) if p)
    text = f"[Lokasi] {place} ({where.latitude}, {where.longitude})".replace("]  (", "] (")
    return text, {"location": where.model_dump(exclude_none=True)}


def _contacts(cards: list[dict[str, Any]]) -> Read:
    def card(entry: dict[str, Any]) -> str:
        name = str(entry.get("name", {}).get("formatted_name", "")).strip()
        phones = ", ".join(str(p.get("phone", "")) for p in entry.get("phones", []) if p)
        return f"{name} ({phones})" if phones else name

    return "[Kontak] " + "; ".join(card(c) for c in cards), {"contacts": cards}


def _order(order: Order) -> Read:
    lines = [f"[Pesanan] {order.text or ''}".rstrip()]
    for item in order.product_items:
        price = f" @ {item.item_price:g} {item.currency or ''}".rstrip() if item.item_price else ""
        lines.append(f"- {item.product_retailer_id} x {item.quantity:g}{price}")
    return "\n".join(lines), {"order": order.model_dump(exclude_none=True)}


def _answer_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_answer_text(v) for v in value)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)


def _flow(reply: FlowReply) -> Read:
    """A flow's answers as `field: answer` lines (its token is ours, not the sender's)."""
    try:
        answers = json.loads(reply.response_json)
    except ValueError:
        answers = {}
    if not isinstance(answers, dict):
        answers = {"jawaban": answers}
    answers = {k: v for k, v in answers.items() if k != "flow_token" and v not in ("", None)}
    if not answers:
        body = (reply.body or "").strip()
        return ("" if body in ("", "Sent") else body), None
    lines = [f"{key}: {_answer_text(value)}" for key, value in answers.items()]
    return "\n".join(["[Formulir]", *lines]), {"form": answers, "name": reply.name}


def _interactive(interactive: Interactive) -> Read:
    reply = interactive.button_reply or interactive.list_reply
    if reply is not None:
        text = " — ".join(p for p in (reply.title.strip(), reply.description) if p)
        return text, {"reply": reply.model_dump(exclude_none=True)} if text else None
    if interactive.nfm_reply is not None:
        return _flow(interactive.nfm_reply)
    return "", None


def read(content: Content) -> Read:
    """The words of a message of any content kind (media: its caption), and its data."""
    media = _media(content)
    if content.text is not None:
        return content.text.body, None
    if media is not None:
        return media.caption or "", None
    if content.location is not None:
        return _location(content.location)
    if content.contacts is not None:
        return _contacts(content.contacts)
    if content.button is not None:
        payload = {"button": content.button.model_dump(exclude_none=True)}
        return content.button.text, payload
    if content.interactive is not None:
        return _interactive(content.interactive)
    if content.order is not None:
        return _order(content.order)
    return "", None


def _media(content: Content) -> Media | None:
    return next((getattr(content, kind) for kind in MEDIA_TYPES if getattr(content, kind)), None)


def _attachments(content: Content) -> tuple[Attachment, ...]:
    media = _media(content)
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


def _chat_message(message: Message, name: str | None) -> ChatMessage | None:
    """The message as the kinds table decides it; None when it opens nothing."""
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
        return None
    chat = ChatMessage(
        channel=Channel.WHATSAPP,
        message_id=message.id,
        account=message.sender,
        name=name,
        sent_at=sent_at(float(message.timestamp)),
        **fields,
    )
    return chat if chat.worth_keeping else None


def messages_of(notification: Notification) -> list[ChatMessage]:
    """Every message a notification carries that the kinds table keeps, in order."""
    found = []
    for entry in notification.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue  # calls, account updates, templates: nothing a citizen wrote
            value = Value.model_validate(change.value)
            names = {c.wa_id: c.profile.name if c.profile else None for c in value.contacts}
            for message in value.messages:
                chat = _chat_message(message, names.get(message.sender))
                if chat is not None:
                    found.append(chat)
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
