"""The WhatsApp Cloud API's message objects, and how each kind reads: its words for officers
and, for structured answers (a location, contacts, an order, a flow's form), the data too.

Which kinds are kept at all is the kinds table's decision (channels/kinds.py).
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.intake.channels.kinds import TABLE
from shared.channels import Channel

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


class Open(BaseModel):
    """A Meta object: fields Meta adds later are kept, not refused."""

    model_config = ConfigDict(extra="allow")


class Typed(Open):
    """A Meta object whose `type` names the field that carries it: that field must hold its
    object (Meta may send null there), else the object is not of its shape."""

    type: str
    carriers: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _carries_its_type(self) -> Self:
        if self.type in self.carriers and getattr(self, self.type) is None:
            raise ValueError(f"no object for its type {self.type!r}")
        return self


class Media(Open):
    id: str
    mime_type: str = "application/octet-stream"
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class Text(Open):
    body: str = ""


class Location(Open):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class Reply(Open):
    id: str | None = None
    title: str = ""
    description: str | None = None


class FlowReply(Open):
    name: str | None = None
    body: str | None = None
    response_json: str = "{}"


class Interactive(Typed):
    carriers = frozenset({"button_reply", "list_reply", "nfm_reply"})
    button_reply: Reply | None = None
    list_reply: Reply | None = None
    nfm_reply: FlowReply | None = None


class Button(Open):
    text: str = ""
    payload: str | None = None


class OrderItem(Open):
    product_retailer_id: str
    quantity: float = 1
    item_price: float | None = None
    currency: str | None = None


class Order(Open):
    catalog_id: str | None = None
    text: str | None = None
    product_items: list[OrderItem] = Field(default_factory=list)


CONTENT_CARRIERS = frozenset(
    {"text", *MEDIA_TYPES, "location", "contacts", "interactive", "button", "order"}
)


class Content(Typed):
    """What a message carries, by its type (an edit carries one of these as its new form)."""

    carriers = CONTENT_CARRIERS
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


class Edit(Open):
    original_message_id: str
    message: Content


class Revoke(Open):
    original_message_id: str


class Message(Content):
    """A message; its sender by number (`from`) or, for a user with a WhatsApp username, by
    business-scoped user id alone (`from_user_id`, the number left out)."""

    carriers = CONTENT_CARRIERS | {"edit", "revoke"}
    sender: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    id: str
    timestamp: str
    edit: Edit | None = None
    revoke: Revoke | None = None
    account: str | None = None  # ours: the sender's number, else their BSUID


Read = tuple[str, dict[str, Any] | None]  # readable text, and the structured answers if any


def kind_name(content: Content) -> str:
    """The message's kind as the table names it (`interactive/<its type>`)."""
    if content.type == "interactive" and content.interactive is not None:
        name = f"interactive/{content.interactive.type}"
        return name if (Channel.WHATSAPP, name) in TABLE else "interactive"
    return content.type


def _location(where: Location) -> Read:
    place = ", ".join(p for p in (where.name, where.address) if p)
    at = (where.latitude, where.longitude)
    spot = f" ({at[0]}, {at[1]})" if all(math.isfinite(c) for c in at) else ""
    text = f"[Lokasi] {place}{spot}".replace("]  (", "] (").rstrip()
    return text, {"location": where.model_dump(exclude_none=True)}


def _contacts(cards: list[dict[str, Any]]) -> Read:
    def card(entry: dict[str, Any]) -> str:
        named = entry.get("name")
        name = _said(named.get("formatted_name") if isinstance(named, dict) else None)
        numbers = entry.get("phones")
        numbers = numbers if isinstance(numbers, list) else []
        phones = ", ".join(
            said for p in numbers if isinstance(p, dict) and (said := _said(p.get("phone")))
        )
        return f"{name} ({phones})" if phones else name

    return "[Kontak] " + "; ".join(card(c) for c in cards if isinstance(c, dict)), {
        "contacts": cards
    }


def _said(value: Any) -> str:
    """A contact card's field as written; nothing for a null or a missing one."""
    return str(value).strip() if isinstance(value, str | int) else ""


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
    media = media_of(content)
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


def media_of(content: Content) -> Media | None:
    return next((getattr(content, kind) for kind in MEDIA_TYPES if getattr(content, kind)), None)
