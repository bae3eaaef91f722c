"""The Instagram messaging webhook: Meta's `instagram` payloads, the same rules as WhatsApp."""

from __future__ import annotations

import json

import pytest

from tests.intake.conftest import Desk
from tests.intake.meta import IG_ACCOUNT_ID, SITI_IGSID, ig_message, instagram
from tests.polling import eventually

WEBHOOK = "/intake/v1/webhooks/instagram"
COMPLAINT = "Petugas loket meminta uang tambahan untuk mempercepat izin."


async def test_the_verification_handshake_echoes_the_challenge(desk: Desk) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-ig", "hub.challenge": "99"}
    assert (await desk.http.get(WEBHOOK, params=query)).text == "99"
    wrong = await desk.http.get(WEBHOOK, params=query | {"hub.mode": "unsubscribe"})
    assert wrong.status_code == 403


async def test_a_direct_message_becomes_a_complaint_and_the_code_goes_back(desk: Desk) -> None:
    answer = await desk.instagram(instagram(ig_message("aWdfZAG1faXRlbTox", COMPLAINT)))
    assert answer.status_code == 200, answer.text
    code = answer.json()["received"][0]["tracking_code"]
    assert await desk.events() == ["ComplaintReceived"]

    async def replied() -> list[dict[str, object]]:
        return desk.graph.sent_to(f"/{IG_ACCOUNT_ID}/messages")

    [reply] = await eventually(replied, within=5)
    assert reply["recipient"] == {"id": SITI_IGSID}
    assert code in reply["message"]["text"]  # type: ignore[index]


async def test_a_burst_with_a_photo_is_one_submission(desk: Desk) -> None:
    photo = [{"type": "image", "payload": {"url": "https://lookaside.example/ig/1.jpg"}}]
    answers = [
        await desk.instagram(instagram(ig_message("mid.1", "halo min"))),
        await desk.instagram(instagram(ig_message("mid.2", COMPLAINT))),
        await desk.instagram(instagram(ig_message("mid.3", attachments=photo))),
    ]
    codes = {answer.json()["received"][0]["tracking_code"] for answer in answers}
    assert len(codes) == 1
    assert await desk.events() == ["ComplaintReceived", "MessageAdded", "MessageAdded"]


async def test_the_same_message_three_times_is_one_submission(desk: Desk) -> None:
    answers = [await desk.instagram(instagram(ig_message("mid.R", COMPLAINT))) for _ in range(3)]
    received = [answer.json()["received"][0] for answer in answers]
    assert [r["replayed"] for r in received] == [False, True, True]
    assert len({r["tracking_code"] for r in received}) == 1
    assert await desk.events() == ["ComplaintReceived"]


async def test_echoes_reads_reactions_and_comments_are_ignored(desk: Desk) -> None:
    payload = instagram(
        ig_message("mid.E", "balasan kami", is_echo=True),
        ig_message("mid.D", is_deleted=True),
        {
            "sender": {"id": SITI_IGSID},
            "recipient": {"id": IG_ACCOUNT_ID},
            "timestamp": 1,
            "read": {"mid": "mid.E"},
        },
        {
            "sender": {"id": SITI_IGSID},
            "recipient": {"id": IG_ACCOUNT_ID},
            "timestamp": 1,
            "reaction": {"mid": "mid.E", "action": "react", "reaction": "love"},
        },
    )
    payload["entry"].append(
        {"id": IG_ACCOUNT_ID, "time": 1, "changes": [{"field": "comments", "value": {"text": "x"}}]}
    )
    answer = await desk.instagram(payload)
    assert answer.status_code == 200
    assert answer.json() == {"received": []}
    assert await desk.events() == []


BAD = {
    "malformed json": (b"{", 400),
    "whatsapp object on the instagram hook": (
        json.dumps({"object": "whatsapp_business_account", "entry": []}).encode(),
        422,
    ),
    "file attachment": (
        json.dumps(
            instagram(ig_message("mid.F", attachments=[{"type": "file", "payload": {"url": "x"}}]))
        ).encode(),
        415,
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
async def test_bad_notifications_get_a_4xx_and_store_nothing(desk: Desk, case: str) -> None:
    body, status = BAD[case]
    answer = await desk.instagram(body)
    assert answer.status_code == status, answer.text
    assert await desk.events() == []


async def test_a_signature_made_with_the_whatsapp_secret_is_refused(desk: Desk) -> None:
    body = instagram(ig_message("mid.S", COMPLAINT))
    answer = await desk.signed(WEBHOOK, body, "wa-app-secret")
    assert answer.status_code == 401
    assert await desk.events() == []
