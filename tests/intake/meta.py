"""Webhook payloads exactly as Meta documents them (WhatsApp Cloud API, Instagram messaging)."""

from __future__ import annotations

import time
from typing import Any

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
IG_ACCOUNT_ID = "17841405822304914"
SITI_WA = "6281234567890"
SITI_IGSID = "1254459154682919"


def whatsapp(value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    """A notification carrying one change."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": field}]}],
    }


def _metadata() -> dict[str, str]:
    return {"display_phone_number": "6231398001", "phone_number_id": PHONE_NUMBER_ID}


def wa_messages(
    *messages: dict[str, Any], sender: str = SITI_WA, name: str = "Siti Aminah"
) -> dict[str, Any]:
    """Incoming messages from one sender."""
    return whatsapp(
        {
            "messaging_product": "whatsapp",
            "metadata": _metadata(),
            "contacts": [{"profile": {"name": name}, "wa_id": sender}],
            "messages": list(messages),
        }
    )


def wa_message(wamid: str, kind: str, content: Any, *, sender: str = SITI_WA) -> dict[str, Any]:
    """One message object of a type ("text", "image", ...)."""
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
    }


def wa_text(
    text: str, wamid: str, *, sender: str = SITI_WA, name: str = "Siti Aminah"
) -> dict[str, Any]:
    """A notification with one text message."""
    return wa_messages(
        wa_message(wamid, "text", {"body": text}, sender=sender), sender=sender, name=name
    )


def wa_image(wamid: str, mime_type: str = "image/jpeg", caption: str = "") -> dict[str, Any]:
    """A notification with one image message."""
    image = {
        "caption": caption,
        "mime_type": mime_type,
        "sha256": "HgLZLrA8SPJ/Fa5qRmoY8nN+Jk0D5hjsy9f1Rh4rlNo=",
        "id": "1003383421387256",
    }
    return wa_messages(wa_message(wamid, "image", image))


def wa_status(wamid: str) -> dict[str, Any]:
    """A delivery status notification (no message)."""
    return whatsapp(
        {
            "messaging_product": "whatsapp",
            "metadata": _metadata(),
            "statuses": [
                {
                    "id": wamid,
                    "status": "delivered",
                    "timestamp": str(int(time.time())),
                    "recipient_id": SITI_WA,
                    "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
                    "pricing": {"billable": False, "pricing_model": "PMP", "category": "service"},
                }
            ],
        }
    )


def instagram(*messaging: dict[str, Any]) -> dict[str, Any]:
    """A notification with messaging events."""
    now = int(time.time() * 1000)
    return {
        "object": "instagram",
        "entry": [{"id": IG_ACCOUNT_ID, "time": now, "messaging": list(messaging)}],
    }


def ig_message(
    mid: str, text: str | None = None, *, sender: str = SITI_IGSID, **extra: Any
) -> dict[str, Any]:
    """One messaging event with a message."""
    message: dict[str, Any] = {"mid": mid, **extra}
    if text is not None:
        message["text"] = text
    return {
        "sender": {"id": sender},
        "recipient": {"id": IG_ACCOUNT_ID},
        "timestamp": int(time.time() * 1000),
        "message": message,
    }
