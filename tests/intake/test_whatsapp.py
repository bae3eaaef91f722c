"""The WhatsApp Cloud API webhook: Meta's handshake and payloads, conversations, receipts."""

from __future__ import annotations

import json

import pytest

from services.intake.channels.meta import signature
from shared.sop import Role
from tests.intake.conftest import Desk
from tests.intake.meta import SITI_WA, wa_image, wa_message, wa_messages, wa_status, wa_text
from tests.polling import eventually

WEBHOOK = "/intake/v1/webhooks/whatsapp"
COMPLAINT = "Izin usaha saya belum selesai setelah tiga minggu, mohon dibantu."


async def test_the_verification_handshake_echoes_the_challenge(desk: Desk) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": "verify-wa",
        "hub.challenge": "1158201444",
    }
    answer = await desk.http.get(WEBHOOK, params=query)
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    wrong = await desk.http.get(WEBHOOK, params=query | {"hub.verify_token": "tebakan"})
    assert wrong.status_code == 403


async def test_a_message_becomes_a_complaint_and_the_code_goes_back(desk: Desk) -> None:
    answer = await desk.whatsapp(wa_text(COMPLAINT, "wamid.A1"))
    assert answer.status_code == 200, answer.text
    [received] = answer.json()["received"]
    assert await desk.events() == ["ComplaintReceived"]

    async def replied() -> list[dict[str, object]]:
        return desk.graph.sent_to(f"/{desk.settings.whatsapp_phone_number_id}/messages")

    [reply] = await eventually(replied, within=5)
    assert reply["messaging_product"] == "whatsapp"
    assert reply["to"] == SITI_WA
    assert received["tracking_code"] in reply["text"]["body"]  # type: ignore[index]


async def test_a_burst_from_one_sender_is_one_submission_with_all_its_parts(desk: Desk) -> None:
    burst = [
        wa_text("halo", "wamid.B1"),
        wa_text("mau lapor", "wamid.B2"),
        wa_text(COMPLAINT, "wamid.B3"),
        wa_image("wamid.B4", caption="foto loket"),
    ]
    answers = [await desk.whatsapp(payload) for payload in burst]
    received = [answer.json()["received"][0] for answer in answers]
    assert len({r["tracking_code"] for r in received}) == 1
    assert [r["added"] for r in received] == [False, True, True, True]
    assert await desk.events() == ["ComplaintReceived", *["MessageAdded"] * 3]
    case_id = (await desk.fetch("SELECT case_id FROM intake.submission_index"))[0]["case_id"]
    view = await desk.http.get(
        f"/intake/v1/submissions/{case_id}", headers=desk.officer(Role.TIM_PENGADUAN)
    )
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["text"] == "halo"
    assert [part["text"] for part in body["parts"]] == ["mau lapor", COMPLAINT, "foto loket"]
    assert body["parts"][2]["attachments"][0]["content_type"] == "image/jpeg"
    assert body["contact"]["name"] == "Siti Aminah"


async def test_several_messages_in_one_notification_make_one_submission(desk: Desk) -> None:
    payload = wa_messages(
        wa_message("wamid.M1", "text", {"body": "halo"}),
        wa_message(
            "wamid.M2", "location", {"latitude": -7.16, "longitude": 112.65, "name": "Loket"}
        ),
        wa_message("wamid.M3", "reaction", {"message_id": "wamid.M1", "emoji": "👍"}),
    )
    answer = await desk.whatsapp(payload)
    assert answer.status_code == 200
    assert len(answer.json()["received"]) == 2
    assert await desk.events() == ["ComplaintReceived", "MessageAdded"]


async def test_the_same_message_three_times_is_one_submission(desk: Desk) -> None:
    answers = [await desk.whatsapp(wa_text(COMPLAINT, "wamid.R1")) for _ in range(3)]
    received = [answer.json()["received"][0] for answer in answers]
    assert [r["replayed"] for r in received] == [False, True, True]
    assert len({r["tracking_code"] for r in received}) == 1
    assert await desk.events() == ["ComplaintReceived"]


async def test_writing_baru_opens_a_new_submission(desk: Desk) -> None:
    first = (await desk.whatsapp(wa_text(COMPLAINT, "wamid.N1"))).json()["received"][0]
    ended = (await desk.whatsapp(wa_text("baru", "wamid.N2"))).json()["received"][0]
    second = (await desk.whatsapp(wa_text("Ada pungli di loket", "wamid.N3"))).json()["received"][0]
    assert ended["conversation"] == "ended"
    assert second["tracking_code"] != first["tracking_code"]
    assert await desk.events() == ["ComplaintReceived", "ComplaintReceived"]


async def test_statuses_are_acknowledged_and_ignored(desk: Desk) -> None:
    answer = await desk.whatsapp(wa_status("wamid.S1"))
    assert answer.status_code == 200
    assert answer.json() == {"received": []}
    other = await desk.whatsapp(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "account_update", "value": {}}]}],
        }
    )
    assert other.status_code == 200
    assert await desk.events() == []


REFUSED = {
    "no signature": (None, 401),
    "wrong signature": ("sha256=" + "0" * 64, 401),
    "signed with another secret": ("other", 401),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
async def test_a_bad_signature_is_a_401_and_stores_nothing(desk: Desk, case: str) -> None:
    header, status = REFUSED[case]
    body = json.dumps(wa_text(COMPLAINT, "wamid.X1")).encode()
    if header == "other":
        header = signature("bukan-rahasia-kita", body)
    headers = {"content-type": "application/json"}
    if header:
        headers["x-hub-signature-256"] = header
    answer = await desk.http.post(WEBHOOK, content=body, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert await desk.events() == []


BAD_BODIES = {
    "malformed json": (b'{"object": "whatsapp_business_account", "entry": [', 400),
    "unknown object": (json.dumps({"object": "page", "entry": []}).encode(), 422),
    "not an object": (b"[]", 422),
    "entry of the wrong shape": (
        json.dumps({"object": "whatsapp_business_account", "entry": "x"}).encode(),
        422,
    ),
    "message of the wrong shape": (
        json.dumps(wa_messages({"from": SITI_WA, "type": "text"})).encode(),
        422,
    ),
    "disallowed attachment": (
        json.dumps(wa_image("wamid.Z1", "application/x-msdownload")).encode(),
        415,
    ),
    "oversize body": (json.dumps(wa_text("a" * 300_000, "wamid.Z2")).encode(), 413),
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
async def test_bad_notifications_get_a_4xx_and_store_nothing(desk: Desk, case: str) -> None:
    body, status = BAD_BODIES[case]
    answer = await desk.whatsapp(body)
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == status
    assert await desk.events() == []


async def test_a_flood_from_one_sender_is_refused_with_retry_after(desk: Desk) -> None:
    limit = desk.settings.rate_sender_per_minute
    answers = [await desk.whatsapp(wa_text(f"pesan {n}", f"wamid.F{n}")) for n in range(limit + 3)]
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == limit
    assert statuses[limit:] == [429] * 3
    assert int(answers[-1].headers["retry-after"]) > 0
    assert len(await desk.events()) == limit


async def test_a_failed_receipt_is_retried_without_blocking_intake(desk: Desk) -> None:
    desk.graph.failures = 2
    answer = await desk.whatsapp(wa_text(COMPLAINT, "wamid.T1"))
    assert answer.status_code == 200
    code = answer.json()["received"][0]["tracking_code"]

    async def delivered() -> bool:
        # Skip the backoff between attempts (seconds, then minutes in production).
        await desk.fetch("UPDATE intake.deliveries SET next_at = now() WHERE sent_at IS NULL")
        rows = await desk.fetch("SELECT sent_at, attempts FROM intake.deliveries")
        return bool(rows and rows[0]["sent_at"] is not None)

    assert await eventually(delivered, within=10, interval=0.3)
    [reply] = desk.graph.sent_to("/messages")
    assert code in reply["text"]["body"]
    assert desk.graph.refused == 2
    [row] = await desk.fetch("SELECT attempts, last_error FROM intake.deliveries")
    assert row["attempts"] == 3
