"""Meta webhooks: a message whose typed object is null, or not an object, is never lost."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from tests.intake.conftest import Desk
from tests.intake.meta import IG_ACCOUNT_ID, ig_message, instagram, wa_message, wa_messages

# The WhatsApp content kinds by the `type` that names their object.
WA_TYPES = [
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "button",
    "interactive",
    "order",
]


def _sender(n: int) -> str:
    return f"62855500{n:05d}"


async def _kept_whole(desk: Desk, answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    [received] = answer.json()["received"]
    view = await desk.submission(received["tracking_code"])
    assert "tidak dapat dibaca" in view["text"]
    return view


@pytest.mark.parametrize("kind", WA_TYPES)
@pytest.mark.parametrize("payload", [None, "bukan objek", 5], ids=["null", "string", "number"])
async def test_a_whatsapp_message_whose_object_is_not_one_is_kept_whole(
    desk: Desk, kind: str, payload: Any
) -> None:
    sender = _sender(WA_TYPES.index(kind))
    message = wa_message(f"wamid.TN{kind}", kind, payload, sender=sender)
    view = await _kept_whole(desk, await desk.whatsapp(wa_messages(message, sender=sender)))
    assert view["data"]["unreadable"]["type"] == kind
    assert await desk.events() == ["ComplaintReceived"]


@pytest.mark.parametrize("reply", ["button_reply", "list_reply", "nfm_reply"])
async def test_a_whatsapp_interactive_reply_whose_object_is_null_is_kept_whole(
    desk: Desk, reply: str
) -> None:
    message = wa_message("wamid.TI1", "interactive", {"type": reply, reply: None})
    await _kept_whole(desk, await desk.whatsapp(wa_messages(message)))


@pytest.mark.parametrize("kind", ["edit", "revoke"])
async def test_a_whatsapp_amendment_whose_object_is_null_is_logged_and_ignored(
    desk: Desk, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.intake.channels.whatsapp"):
        answer = await desk.whatsapp(wa_messages(wa_message("wamid.TE1", kind, None)))
    assert answer.json() == {"received": []}
    assert any(
        "wamid.TE1" in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records
    )
    assert await desk.events() == []


def _event(sender: str, **fields: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"sender": {"id": sender}, "recipient": {"id": IG_ACCOUNT_ID}, "timestamp": now} | fields


@pytest.mark.parametrize("postback", [None, "bukan objek", {"title": None}])
async def test_an_instagram_postback_whose_object_is_not_one_is_kept_whole(
    desk: Desk, postback: Any
) -> None:
    payload = instagram(_event("17841400000901", postback=postback))
    view = await _kept_whole(desk, await desk.instagram(payload))
    assert "postback" in view["data"]["unreadable"]
    again = await desk.instagram(payload)  # Meta's redelivery: the same case, nothing new
    assert again.json()["received"][0]["replayed"] is True
    assert await desk.events() == ["ComplaintReceived"]


async def test_an_instagram_message_whose_text_is_null_is_kept_whole(desk: Desk) -> None:
    event = ig_message("mid.TN1")
    event["message"]["text"] = None
    view = await _kept_whole(desk, await desk.instagram(instagram(event)))
    assert view["data"]["unreadable"]["message"] == {"mid": "mid.TN1", "text": None}


@pytest.mark.parametrize("field", ["message", "message_edit"])
async def test_an_instagram_event_whose_object_is_null_is_logged(
    desk: Desk, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.intake.channels.instagram"):
        answer = await desk.instagram(instagram(_event("17841400000902", **{field: None})))
    assert answer.json() == {"received": []}
    assert any("unknown shape" in r.getMessage() for r in caplog.records)
    assert await desk.events() == []
