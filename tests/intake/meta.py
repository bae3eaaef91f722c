"""Webhook payloads exactly as Meta documents them (WhatsApp Cloud API, Instagram messaging)."""

from __future__ import annotations

import json
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


SHA = "HgLZLrA8SPJ/Fa5qRmoY8nN+Jk0D5hjsy9f1Rh4rlNo="
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def wa_document(filename: str, mime_type: str, caption: str | None = None) -> dict[str, Any]:
    """A document message's content, as the Cloud API sends it."""
    document = {"filename": filename, "mime_type": mime_type, "sha256": SHA, "id": "790123456789"}
    return document | ({"caption": caption} if caption else {})


def _flow(answers: dict[str, Any]) -> dict[str, Any]:
    response = json.dumps({"flow_token": "aduan-flow-1", **answers})
    return {
        "type": "nfm_reply",
        "nfm_reply": {"name": "flow", "body": "Sent", "response_json": response},
    }


# One content object per kind of the Cloud API's messages webhook reference (the message's
# `type` and its object), with what the officer then reads (None: the kind opens nothing).
WA_KINDS: dict[str, tuple[str, Any, str | None]] = {
    "text": ("text", {"body": "Izin usaha saya belum terbit."}, "Izin usaha saya belum terbit."),
    "image": (
        "image",
        {
            "caption": "Antrean loket",
            "mime_type": "image/jpeg",
            "sha256": SHA,
            "id": "1003383421387256",
        },
        "Antrean loket",
    ),
    "audio": (
        "audio",
        {"mime_type": "audio/ogg; codecs=opus", "sha256": SHA, "id": "1013", "voice": True},
        "",
    ),
    "video": ("video", {"mime_type": "video/mp4", "sha256": SHA, "id": "1014"}, ""),
    "document": (
        "document",
        wa_document("surat.pdf", "application/pdf", "Surat penolakan"),
        "Surat penolakan",
    ),
    "sticker": (
        "sticker",
        {"mime_type": "image/webp", "sha256": SHA, "id": "1015", "animated": False},
        "",
    ),
    "location": (
        "location",
        {
            "latitude": -7.1568,
            "longitude": 112.6556,
            "name": "MPP Gresik",
            "address": "Jl. Dr. Wahidin",
        },
        "[Lokasi] MPP Gresik, Jl. Dr. Wahidin (-7.1568, 112.6556)",
    ),
    "contacts": (
        "contacts",
        [
            {
                "name": {"formatted_name": "Budi Santoso", "first_name": "Budi"},
                "phones": [
                    {"phone": "+62 812-3456-7890", "wa_id": "6281234567890", "type": "CELL"}
                ],
            }
        ],
        "[Kontak] Budi Santoso (+62 812-3456-7890)",
    ),
    "button": ("button", {"payload": "LAPOR", "text": "Lapor sekarang"}, "Lapor sekarang"),
    "interactive/button_reply": (
        "interactive",
        {"type": "button_reply", "button_reply": {"id": "pungli", "title": "Pungutan liar"}},
        "Pungutan liar",
    ),
    "interactive/list_reply": (
        "interactive",
        {
            "type": "list_reply",
            "list_reply": {"id": "izin", "title": "Izin usaha", "description": "NIB"},
        },
        "Izin usaha — NIB",
    ),
    "interactive/nfm_reply": (
        "interactive",
        _flow({"jenis_izin": "PBG", "keluhan": "Belum terbit tiga minggu"}),
        "[Formulir]\njenis_izin: PBG\nkeluhan: Belum terbit tiga minggu",
    ),
    "order": (
        "order",
        {
            "catalog_id": "2406178046225430",
            "text": "Mohon salinan",
            "product_items": [
                {
                    "product_retailer_id": "SALINAN-IMB",
                    "quantity": 2,
                    "item_price": 5000,
                    "currency": "IDR",
                }
            ],
        },
        "[Pesanan] Mohon salinan\n- SALINAN-IMB x 2 @ 5000 IDR",
    ),
    "reaction": ("reaction", {"message_id": "wamid.OURS", "emoji": "\U0001f44d"}, None),
    "system": (
        "system",
        {
            "body": "User A changed from 6281 to 6282",
            "wa_id": "6282",
            "type": "user_changed_number",
        },
        None,
    ),
    "unsupported": ("unsupported", None, None),
    "request_welcome": ("request_welcome", None, None),
    "interactive/call_permission_reply": (
        "interactive",
        {
            "type": "call_permission_reply",
            "call_permission_reply": {
                "response": "accept",
                "is_permanent": False,
                "expiration_timestamp": 1767225600,
                "response_source": "user_action",
            },
        },
        None,
    ),
    "interactive without a title": (
        "interactive",
        {"type": "button_reply", "button_reply": {"id": "kosong", "title": ""}},
        None,
    ),
    "flow without answers": ("interactive", _flow({}), None),
    "interactive of another type": ("interactive", {"type": "catalog_message"}, None),
    "unknown": ("unknown", None, None),
    "empty text": ("text", {"body": "   "}, None),
}


def wa_kind(kind: str, wamid: str, *, sender: str = SITI_WA) -> dict[str, Any]:
    """One message object of a kind of WA_KINDS."""
    message_type, content, _ = WA_KINDS[kind]
    message: dict[str, Any] = {"from": sender, "id": wamid, "timestamp": str(int(time.time()))}
    message["type"] = message_type
    if content is not None:
        message[message_type] = content
    if message_type in ("unsupported", "unknown"):
        message["errors"] = [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
    if message_type in ("button", "interactive", "reaction"):
        message["context"] = {"from": "6231398001", "id": "wamid.OURS"}
    return message


def wa_edit(wamid: str, original: str, text: str, *, sender: str = SITI_WA) -> dict[str, Any]:
    """An edit of an earlier text message (WhatsApp Business app users)."""
    edit = {"original_message_id": original, "message": {"type": "text", "text": {"body": text}}}
    return wa_message(wamid, "edit", edit, sender=sender)


def wa_revoke(wamid: str, original: str, *, sender: str = SITI_WA) -> dict[str, Any]:
    """A revoke (deleted for everyone) of an earlier message."""
    return wa_message(wamid, "revoke", {"original_message_id": original}, sender=sender)


def wa_call(sender: str = SITI_WA) -> dict[str, Any]:
    """A call event: the `calls` field, no message."""
    return whatsapp(
        {
            "messaging_product": "whatsapp",
            "metadata": _metadata(),
            "contacts": [{"profile": {"name": "Siti Aminah"}, "wa_id": sender}],
            "calls": [
                {
                    "id": "wacid.HBgLMTIxMjU1NTEyMzQVAgARGBI",
                    "to": "6231398001",
                    "from": sender,
                    "event": "connect",
                    "timestamp": str(int(time.time())),
                    "direction": "USER_INITIATED",
                    "session": {"sdp_type": "offer", "sdp": "v=0"},
                }
            ],
        },
        field="calls",
    )
