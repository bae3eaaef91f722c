"""The WhatsApp Cloud API webhook: Meta's handshake and payloads, conversations, receipts."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from services.intake.channels.cloud_api import Message, kind_name
from services.intake.channels.kinds import KINDS, markdown
from services.intake.channels.meta import AMEND_WAIT_SECONDS, signature
from services.intake.deliveries import state_of
from shared.channels import Channel
from shared.limits import WINDOW_SECONDS
from shared.settings import Settings
from shared.sop import Role
from tests.intake.conftest import Desk
from tests.intake.meta import (
    DOCX,
    PHONE_NUMBER_ID,
    SITI_WA,
    WA_KINDS,
    wa_call,
    wa_document,
    wa_edit,
    wa_image,
    wa_kind,
    wa_message,
    wa_messages,
    wa_revoke,
    wa_status,
    wa_text,
    whatsapp,
)
from tests.polling import eventually

WEBHOOK = "/intake/v1/webhooks/whatsapp"
COMPLAINT = "Izin usaha saya belum selesai setelah tiga minggu, mohon dibantu."

WEBHOOK_BYTES: int = Settings.model_fields["max_webhook_bytes"].default


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


BSUID = "ID.1502576394655843"


def _change(contacts: list[dict[str, Any]], *messages: dict[str, Any]) -> dict[str, Any]:
    return whatsapp(
        {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6231398001", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": contacts,
            "messages": list(messages),
        }
    )


async def test_a_user_known_by_username_alone_is_heard_and_answered_by_bsuid(desk: Desk) -> None:
    """A WhatsApp user with a username and no number shown: the contact has a business-scoped
    user id (BSUID) and no wa_id, the message no `from`. The complaint is taken (beside a
    numbered user's message in the same change) and the receipt goes to the BSUID."""
    by_username = {
        "id": "wamid.U1",
        "from_user_id": BSUID,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": COMPLAINT},
    }
    contacts = [
        {"profile": {"name": "Siti", "username": "@siti"}, "user_id": BSUID},
        {"profile": {"name": "Budi"}, "wa_id": "628120000888", "user_id": "ID.77"},
    ]
    numbered = wa_message("wamid.U2", "text", {"body": COMPLAINT}, sender="628120000888")
    answer = await desk.whatsapp(_change(contacts, by_username, numbered))
    assert answer.status_code == 200, answer.text
    assert await desk.events() == ["ComplaintReceived", "ComplaintReceived"]
    code = answer.json()["received"][0]["tracking_code"]

    async def replies() -> list[dict[str, Any]]:
        sent = desk.graph.sent_to(f"/{desk.settings.whatsapp_phone_number_id}/messages")
        return sent if len(sent) == 2 else []

    sent = await eventually(replies, within=5)
    [to_username] = [reply for reply in sent if reply.get("recipient") == BSUID]
    assert "to" not in to_username
    assert code in to_username["text"]["body"]
    assert [reply["to"] for reply in sent if "to" in reply] == ["628120000888"]
    view = await desk.submission(code)
    assert view["contact"]["name"] == "Siti"
    assert view["contact"].get("phone") is None  # a BSUID is not a phone number


async def test_a_message_of_an_unknown_shape_is_kept_whole_and_costs_the_others_nothing(
    desk: Desk,
) -> None:
    """A message whose fields are not of the Cloud API's shapes (a contacts card with a null
    name, a text that is not an object): kept whole for an officer, answered like any other;
    the change's other messages are taken as usual."""
    odd = wa_message("wamid.O1", "contacts", [{"name": None, "phones": None}])
    wrong = wa_message("wamid.O2", "text", "bukan objek", sender="628120000999")
    good = wa_message("wamid.O3", "text", {"body": COMPLAINT}, sender="628120000888")
    contacts = [
        {"profile": {"name": n}, "wa_id": w}
        for n, w in [("Siti", SITI_WA), ("Ani", "628120000999"), ("Budi", "628120000888")]
    ]
    nobody = {"type": "text", "text": {"body": "tanpa id dan pengirim"}}  # nothing to keep
    revoke = wa_message("wamid.O4", "revoke", {}, sender="628120000999")  # no complaint: ignored
    answer = await desk.whatsapp(_change(contacts, odd, wrong, nobody, revoke, good))
    assert answer.status_code == 200, answer.text
    received = answer.json()["received"]
    assert len({r["tracking_code"] for r in received}) == 3
    assert await desk.events() == ["ComplaintReceived"] * 3
    view = await desk.submission(received[1]["tracking_code"])
    assert "tidak dapat dibaca" in view["text"]
    assert "bukan objek" in json.dumps(view)  # the message as Meta sent it, for the officer


BROKEN_CHANGES: dict[str, Any] = {
    "a null contact": {"metadata": {}, "contacts": [None], "messages": []},
    "null contacts and metadata": {"metadata": None, "contacts": None, "messages": None},
    "messages that are not a list": {"metadata": {}, "messages": "x"},
    "a message that is not an object": {"messages": ["oops", 7, None]},
    "a value that is not an object": "x",
}


async def test_a_broken_change_or_entry_costs_the_good_messages_beside_it_nothing(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """Meta's retries bring the same notification again: refusing all of it for one broken
    part would lose the good messages for good. Each broken part is logged and acknowledged;
    a null where a list or an object was expected is as if left out."""
    good = wa_text(COMPLAINT, "wamid.K1")
    a_null_contact = wa_messages(wa_message("wamid.K2", "text", {"body": COMPLAINT + " dua"}))
    a_null_contact["entry"][0]["changes"][0]["value"]["contacts"].append(None)
    broken = [
        {"id": f"W{n}", "changes": [{"field": "messages", "value": value}]}
        for n, value in enumerate(BROKEN_CHANGES.values())
    ]
    notification = {
        "object": "whatsapp_business_account",
        "entry": [
            *good["entry"],
            *broken,
            None,
            {"changes": "x"},
            {"id": "W9", "changes": [None, {"field": "messages"}]},
            *a_null_contact["entry"],
        ],
    }
    answer = await desk.whatsapp(notification)
    assert answer.status_code == 200, answer.text
    received = answer.json()["received"]
    assert [r["message_id"] for r in received] == ["wamid.K1", "wamid.K2"]
    assert await desk.events() == ["ComplaintReceived", "ComplainantReplied"]  # both kept
    view = await desk.submission(received[0]["tracking_code"])
    assert view["contact"]["name"] == "Siti Aminah"  # the good contact beside the null one
    ignored = [r.getMessage() for r in caplog.records if "not of Meta's shape" in r.getMessage()]
    assert len(ignored) == 11, ignored  # each broken part, once
    assert not any(COMPLAINT in line for line in ignored)  # its shape is logged, not its words


async def test_a_message_naming_no_kind_is_kept_whole(desk: Desk) -> None:
    untyped = wa_message("wamid.T1", "text", {"body": COMPLAINT})
    del untyped["type"]
    answer = await desk.whatsapp(wa_messages(untyped))
    assert answer.status_code == 200, answer.text
    [received] = answer.json()["received"]
    assert COMPLAINT in json.dumps(await desk.submission(received["tracking_code"]))


@pytest.mark.parametrize(
    "sender", ["٦٢٨١٢١١١٤٠٠٠٥", "6" * 40], ids=["arabic-indic digits", "forty digits"]
)
async def test_a_sender_that_is_no_phone_number_is_no_contact_phone(
    desk: Desk, sender: str
) -> None:
    answer = await desk.whatsapp(wa_text(COMPLAINT, "wamid.P1", sender=sender))
    assert answer.status_code == 200, answer.text
    [received] = answer.json()["received"]
    view = await desk.submission(received["tracking_code"])
    assert view["contact"].get("phone") is None


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
    assert await desk.events() == ["ComplaintReceived", *["ComplainantReplied"] * 3]
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
    assert await desk.events() == ["ComplaintReceived", "ComplainantReplied"]


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


async def test_a_notification_batching_a_thousand_updates_is_taken_whole(desk: Desk) -> None:
    """Meta batches up to 1,000 updates in one notification: a message beside a thousand
    statuses (over half a megabyte) is stored; it was refused 413 on every redelivery, the
    message with it."""
    notification = wa_text(COMPLAINT, "wamid.BIG")
    [value] = [change["value"] for change in notification["entry"][0]["changes"]]
    status = wa_status("wamid.S0")["entry"][0]["changes"][0]["value"]["statuses"][0]
    failed = {  # as Meta reports a receipt it could not deliver
        "status": "failed",
        "errors": [
            {
                "code": 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "Unable to deliver the message to the recipient."},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ],
    }
    value["statuses"] = [status | failed | {"id": f"wamid.S{n}"} for n in range(1000)]
    assert len(json.dumps(notification)) > 1.5 * desk.settings.max_body_bytes
    answer = await desk.whatsapp(notification)
    assert answer.status_code == 200, answer.text
    assert answer.json()["received"][0]["tracking_code"]
    assert await desk.events() == ["ComplaintReceived"]


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
    "oversize body": (json.dumps(wa_text("a" * (WEBHOOK_BYTES + 1), "wamid.Z2")).encode(), 413),
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
    for attempt in range(2):  # the limit counts per minute: a flood across two gets two
        sender, stored = f"62812000000{attempt}", len(await desk.events())
        window = int(time.time() // WINDOW_SECONDS)
        answers = [
            await desk.whatsapp(wa_text(f"pesan {n}", f"wamid.F{attempt}.{n}", sender=sender))
            for n in range(limit + 3)
        ]
        if int(time.time() // WINDOW_SECONDS) == window:
            break
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == limit
    assert statuses[limit:] == [429] * 3
    assert int(answers[-1].headers["retry-after"]) > 0
    assert len(await desk.events()) - stored == limit


async def test_a_sender_past_the_limit_costs_the_others_in_the_notification_nothing(
    desk: Desk,
) -> None:
    """A notification with a message of a sender past the limit: the others' messages are
    stored; the notification is answered 429 and, delivered again in the next window, adds
    the rest once (nothing lost, nothing twice)."""
    limit, flood, other = desk.settings.rate_sender_per_minute, "628120000777", "628120000888"
    await _early_in_a_window()
    for n in range(limit):
        assert (await desk.whatsapp(wa_text(f"pesan {n}", f"wamid.M{n}", sender=flood))).is_success
    notification = whatsapp(
        {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6231398001", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [
                {"profile": {"name": "Budi"}, "wa_id": other},
                {"profile": {"name": "Siti"}, "wa_id": flood},
            ],
            "messages": [
                wa_message("wamid.OTHER", "text", {"body": COMPLAINT}, sender=other),
                wa_message("wamid.OVER", "text", {"body": "satu lagi"}, sender=flood),
            ],
        }
    )
    answer = await desk.whatsapp(notification)
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 0
    assert len(await desk.events()) == limit + 1  # the other sender's complaint is stored
    await _next_window(desk)
    again = await desk.whatsapp(notification)
    assert again.status_code == 200, again.text
    first, last = again.json()["received"]
    assert first["replayed"]
    assert not last["replayed"]
    assert len(await desk.events()) == limit + 2
    assert (await desk.events()).count("ComplaintReceived") == 2


async def test_a_notification_of_more_messages_than_the_limit_goes_through_in_turns(
    desk: Desk,
) -> None:
    """Meta's backlog of one sender, more messages than a window allows: stored up to the
    limit, the rest in the next window, in order; never refused whole."""
    limit = desk.settings.rate_sender_per_minute
    await _early_in_a_window()
    backlog = wa_messages(
        *(wa_message(f"wamid.B{n}", "text", {"body": f"bagian {n}"}) for n in range(limit + 2))
    )
    assert (await desk.whatsapp(backlog)).status_code == 429
    assert len(await desk.events()) == limit
    await _next_window(desk)
    answer = await desk.whatsapp(backlog)
    assert answer.status_code == 200, answer.text
    assert [r["replayed"] for r in answer.json()["received"]] == [True] * limit + [False] * 2
    assert len(await desk.events()) == limit + 2
    assert (await desk.events()).count("ComplaintReceived") == 1  # one conversation, in order


async def _early_in_a_window(room: float = 10.0) -> None:
    """Start a test of one limit window with `room` seconds of it left at least: the windows are
    fixed minutes, and a test that crossed into the next would find its counts gone."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < room:
        await asyncio.sleep(left + 0.05)
    assert WINDOW_SECONDS - time.time() % WINDOW_SECONDS >= room


async def _next_window(desk: Desk) -> None:
    """As if the minute rolled over: the counts of the window dropped, here and in Redis."""
    limiter = desk.app.state.limiter
    async for key in limiter.redis.scan_iter(desk.settings.redis_key("rate", "*")):
        await limiter.redis.delete(key)
    limiter._counts = {}


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


async def test_a_receipt_whatsapp_reports_undelivered_is_a_failed_message(desk: Desk) -> None:
    """Meta took the receipt, then could not deliver it (past the 24 hours, a number not on
    WhatsApp) and says so in a status: the delivery is failed, with Meta's reason, among the
    failed messages officers see (it stayed "sent", and nobody knew)."""
    refusing = wa_messages(  # a receipt that says something of its own: the file refused
        wa_message("wamid.F1", "text", {"body": COMPLAINT}),
        wa_message("wamid.F2", "document", wa_document("laporan.docx", DOCX)),
    )
    answer = await desk.whatsapp(refusing)
    assert answer.status_code == 200

    async def sent() -> bool:
        rows = await desk.fetch(
            "SELECT platform_id FROM intake.deliveries WHERE sent_at IS NOT NULL"
        )
        return [row["platform_id"] for row in rows] == ["wamid.out"]  # as the Graph API named it

    assert await eventually(sent, within=10, interval=0.2)
    report = wa_status("wamid.out")
    [status] = report["entry"][0]["changes"][0]["value"]["statuses"]
    status |= {
        "status": "failed",
        "errors": [{"code": 131047, "title": "Re-engagement message", "message": "..."}],
    }
    assert (await desk.whatsapp(report)).json() == {"received": []}
    [row] = await desk.fetch(
        "SELECT sent_at, gave_up_at, last_error, sealed FROM intake.deliveries"
    )
    assert state_of(dict(row)) == "failed"
    assert "Re-engagement message (kode 131047)" in row["last_error"]
    assert row["sealed"] is not None  # sent again, it says what it said (refused files, answer)


async def test_a_failure_reported_before_its_send_is_recorded_fails_the_delivery(
    desk: Desk,
) -> None:
    """Meta's status can overtake its answer to the send: the report named a message not yet
    recorded as sent, was dropped, and the delivery stayed "sent" for ever."""
    desk.graph.hold = asyncio.Event()
    answer = await desk.whatsapp(wa_text(COMPLAINT, "wamid.E1"))
    assert answer.status_code == 200

    async def sending() -> bool:
        return bool(desk.graph.sent_to("/messages"))

    assert await eventually(sending, within=10, interval=0.1)  # sent, the answer held
    report = wa_status("wamid.out")
    [status] = report["entry"][0]["changes"][0]["value"]["statuses"]
    status |= {"status": "failed", "errors": [{"code": 131026, "title": "Message undeliverable"}]}
    assert (await desk.whatsapp(report)).json() == {"received": []}
    desk.graph.hold.set()

    async def settled() -> list[dict[str, Any]]:
        rows = await desk.fetch(
            "SELECT sent_at, gave_up_at, last_error, platform_id FROM intake.deliveries"
        )
        return [dict(row) for row in rows if row["platform_id"] is not None]

    [row] = await eventually(settled, within=10, interval=0.1)
    assert state_of(row) == "failed"
    assert "Message undeliverable (kode 131026)" in row["last_error"]
    assert await desk.fetch("SELECT * FROM intake.early_failures") == []
    assert (await desk.whatsapp(report)).json() == {"received": []}  # reported twice: kept once
    assert await desk.fetch("SELECT * FROM intake.early_failures") == []


# --- Every kind of Meta's messages webhook reference (issue 16, acceptance 1 and 2) ---

CONTENT = [kind for kind, (_, _, reads) in WA_KINDS.items() if reads is not None]
NOTHING = [kind for kind, (_, _, reads) in WA_KINDS.items() if reads is None]


def test_the_kinds_table_in_the_docs_is_the_one_in_the_code() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "channels.md").read_text()
    shown = docs.split("<!-- kinds:start -->\n", 1)[1].split("\n<!-- kinds:end -->", 1)[0]
    assert shown == markdown(), "regenerate: python -m services.intake.channels.kinds"


def test_the_samples_cover_every_whatsapp_kind_of_the_table() -> None:
    sampled = {kind_name(Message.model_validate(wa_kind(kind, "wamid.T"))) for kind in WA_KINDS}
    sampled |= {"edit", "revoke", "statuses", "calls"}  # posted by the tests below
    assert sampled == {kind.name for kind in KINDS if kind.channel is Channel.WHATSAPP}


def _sender(number: int) -> str:
    return f"62812000{number:05d}"


@pytest.mark.parametrize("kind", CONTENT)
async def test_a_content_kind_from_its_own_sender_opens_a_case_that_holds_it(
    desk: Desk, kind: str
) -> None:
    sender = _sender(CONTENT.index(kind))
    payload = wa_messages(wa_kind(kind, f"wamid.K{kind}", sender=sender), sender=sender)
    answer = await desk.whatsapp(payload)
    assert answer.status_code == 200, answer.text
    [received] = answer.json()["received"]
    assert await desk.events() == ["ComplaintReceived"]
    view = await desk.submission(received["tracking_code"])
    assert view["text"] == WA_KINDS[kind][2]
    assert view["text"].strip() or view["attachments"], "an empty case"
    if kind in ("location", "contacts", "order", "button") or kind.startswith("interactive/"):
        assert view["data"], "structured answers are kept as data too"
    again = await desk.whatsapp(payload)
    assert again.status_code == 200
    assert again.json()["received"][0]["replayed"] is True
    assert await desk.events() == ["ComplaintReceived"]


async def test_kinds_that_open_nothing_are_acknowledged_and_get_no_receipt(desk: Desk) -> None:
    payloads = [
        wa_messages(wa_kind(kind, f"wamid.N{n}", sender=_sender(100 + n)), sender=_sender(100 + n))
        for n, kind in enumerate(NOTHING)
    ]
    payloads += [wa_status("wamid.S9"), wa_call(_sender(99))]
    for payload in payloads:
        answer = await desk.whatsapp(payload)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"received": []}
    for payload in payloads:  # Meta's redeliveries: the same, again
        assert (await desk.whatsapp(payload)).json() == {"received": []}
    assert await desk.events() == []
    assert await desk.fetch("SELECT 1 FROM intake.deliveries") == []


async def test_every_kind_in_one_senders_burst_is_one_case_amended_in_place(desk: Desk) -> None:
    kinds = list(WA_KINDS)
    burst = [wa_messages(wa_kind(kind, f"wamid.B{n}")) for n, kind in enumerate(kinds)]
    burst.insert(1, wa_messages(wa_edit("wamid.E1", "wamid.B0", "Izin usaha saya ditolak.")))
    burst.append(wa_messages(wa_revoke("wamid.V1", f"wamid.B{kinds.index('location')}")))
    burst += [wa_status("wamid.B0"), wa_call()]
    answers = [await desk.whatsapp(payload) for payload in burst]
    assert [a.status_code for a in answers] == [200] * len(burst)
    codes = {r["tracking_code"] for a in answers for r in a.json()["received"]}
    assert len(codes) == 1
    parts = len(CONTENT) - 1
    expected = [
        "ComplaintReceived",
        "MessageEdited",
        *["ComplainantReplied"] * parts,
        "MessageWithdrawn",
    ]
    assert await desk.events() == expected
    view = await desk.submission(codes.pop())
    assert view["text"] == "Izin usaha saya ditolak."
    assert [r["text"] for r in view["revisions"]] == [WA_KINDS["text"][2]]
    assert [p["text"] for p in view["parts"]] == [WA_KINDS[k][2] for k in CONTENT[1:]]
    withdrawn = [p for p in view["parts"] if p["withdrawn_at"]]
    assert [p["text"] for p in withdrawn] == [WA_KINDS["location"][2]]
    assert all(p["text"].strip() or p["attachments"] for p in view["parts"]), "an empty part"
    for payload in burst:  # every redelivery: 200, nothing added
        assert (await desk.whatsapp(payload)).status_code == 200
    assert await desk.events() == expected


async def test_redeliveries_are_never_counted_inside_or_outside_the_rate_window(
    desk: Desk,
) -> None:
    limit = desk.settings.rate_sender_per_minute
    await _early_in_a_window()
    payloads = [wa_text(f"pesan {n}", f"wamid.L{n}") for n in range(limit)]
    assert [(await desk.whatsapp(p)).status_code for p in payloads] == [200] * limit
    again = [await desk.whatsapp(p) for p in payloads]  # inside the window, over the limit
    assert [a.status_code for a in again] == [200] * limit
    assert all(a.json()["received"][0]["replayed"] for a in again)
    over = await desk.whatsapp(wa_text("pesan baru", "wamid.L-new"))
    assert over.status_code == 429  # a new message is still counted
    await _next_window(desk)
    later = [await desk.whatsapp(p) for p in payloads]
    assert [a.status_code for a in later] == [200] * limit
    assert len(await desk.events()) == limit


async def _sent(desk: Desk, count: int) -> list[dict[str, Any]]:
    async def bodies() -> list[dict[str, Any]] | None:
        sent = desk.graph.sent_to(f"/{desk.settings.whatsapp_phone_number_id}/messages")
        return sent if len(sent) >= count else None

    found = await eventually(bodies, within=5)
    assert found is not None
    return found


async def test_a_text_with_a_docx_is_a_case_and_the_receipt_names_the_refused_file(
    desk: Desk,
) -> None:
    payload = wa_messages(
        wa_message("wamid.D1", "text", {"body": COMPLAINT}),
        wa_message("wamid.D2", "document", wa_document("laporan.docx", DOCX)),
    )
    answer = await desk.whatsapp(payload)
    assert answer.status_code == 200, answer.text
    received = answer.json()["received"]
    assert [r["added"] for r in received] == [False, True]
    view = await desk.submission(received[0]["tracking_code"])
    assert view["text"] == COMPLAINT
    [refused] = view["parts"][0]["refused"]
    assert refused["filename"] == "laporan.docx"
    assert refused["code"] == "attachment-type"
    assert DOCX in refused["reason"]
    [receipt] = await _sent(desk, 1)
    body = receipt["text"]["body"]
    assert received[0]["tracking_code"] in body
    assert "laporan.docx" in body
    assert "PDF" in body
    assert (await desk.whatsapp(payload)).status_code == 200  # Meta's retry: nothing added
    assert await desk.events() == ["ComplaintReceived", "ComplainantReplied"]


async def test_a_refused_document_with_a_caption_keeps_the_caption(desk: Desk) -> None:
    caption = "Surat penolakan izin terlampir"
    document = wa_document("penolakan.docx", DOCX, caption)
    answer = await desk.whatsapp(wa_messages(wa_message("wamid.C1", "document", document)))
    assert answer.status_code == 200, answer.text
    view = await desk.submission(answer.json()["received"][0]["tracking_code"])
    assert view["text"] == caption
    assert view["attachments"] == []
    assert [r["filename"] for r in view["refused"]] == ["penolakan.docx"]
    [receipt] = await _sent(desk, 1)
    assert "penolakan.docx" in receipt["text"]["body"]


async def test_a_refused_file_joining_an_open_case_is_named_in_a_notice(desk: Desk) -> None:
    await desk.whatsapp(wa_text(COMPLAINT, "wamid.J1"))
    await _sent(desk, 1)
    document = wa_document("foto.heic", "image/heic")
    answer = await desk.whatsapp(wa_messages(wa_message("wamid.J2", "document", document)))
    assert answer.status_code == 200
    receipt, notice = await _sent(desk, 2)
    assert "foto.heic" not in receipt["text"]["body"]
    assert "foto.heic" in notice["text"]["body"]
    assert answer.json()["received"][0]["tracking_code"] in notice["text"]["body"]


def _sent_ago(message: dict[str, Any], seconds: int) -> dict[str, Any]:
    return message | {"timestamp": str(int(time.time()) - seconds)}


async def test_an_edit_of_a_message_never_stored_is_content(desk: Desk) -> None:
    """Of a message never received, sent past the wait: an edit's words are content, a
    withdrawal withdraws nothing."""
    past = AMEND_WAIT_SECONDS + 60
    edit = _sent_ago(wa_edit("wamid.X2", "wamid.gone", COMPLAINT), past)
    answer = await desk.whatsapp(wa_messages(edit))
    assert answer.status_code == 200
    view = await desk.submission(answer.json()["received"][0]["tracking_code"])
    assert view["text"] == COMPLAINT
    revoke = _sent_ago(wa_revoke("wamid.X3", "wamid.gone2"), past)
    withdraw = await desk.whatsapp(wa_messages(revoke))
    assert withdraw.json()["received"][0]["ignored"]
    assert await desk.events() == ["ComplaintReceived"]


async def test_a_withdrawal_or_an_edit_before_its_message_waits_for_it(desk: Desk) -> None:
    """Delivered out of order (the original's first delivery failed): the withdrawal and the
    edit are answered 409, so Meta delivers them again; the original comes meanwhile and is
    stored; delivered again, they change it. The deleted message is no live complaint."""
    revoke = wa_messages(wa_revoke("wamid.W2", "wamid.W1"))
    other = "628120000888"
    edit = wa_messages(wa_edit("wamid.E2", "wamid.E1", "Teks baru", sender=other), sender=other)
    for early in (revoke, edit):
        answer = await desk.whatsapp(early)
        assert answer.status_code == 409, answer.text
        assert answer.headers["retry-after"]
    assert await desk.events() == []
    assert (await desk.whatsapp(wa_text("Nomor NIK saya salah kirim", "wamid.W1"))).is_success
    original = wa_text("Teks lama", "wamid.E1", sender=other)
    assert (await desk.whatsapp(original)).is_success
    withdrawn = await desk.whatsapp(revoke)
    assert withdrawn.json()["received"][0]["amended"] == "withdraw"
    edited = await desk.whatsapp(edit)
    assert edited.json()["received"][0]["amended"] == "edit"
    view = await desk.submission(edited.json()["received"][0]["tracking_code"])
    assert view["text"] == "Teks baru"
    gone = await desk.submission(withdrawn.json()["received"][0]["tracking_code"])
    assert gone["withdrawn_at"] is not None


@pytest.mark.parametrize("kind", NOTHING)
async def test_a_withdrawal_or_an_edit_of_a_message_kept_as_nothing_waits_for_nothing(
    desk: Desk, kind: str
) -> None:
    """A reaction, a kind WhatsApp cannot show, then deleted or edited by its sender: the
    message was received, only kept as nothing. The amendment changes nothing and is answered
    200 (it was a 409 for ten minutes, and every other message of its notification with it)."""
    sender = _sender(300 + NOTHING.index(kind))
    first = wa_messages(wa_kind(kind, "wamid.K1", sender=sender), sender=sender)
    assert (await desk.whatsapp(first)).json() == {"received": []}
    for amendment in (
        wa_revoke("wamid.K2", "wamid.K1", sender=sender),
        wa_edit("wamid.K3", "wamid.K1", "Teks baru", sender=sender),
    ):
        answer = await desk.whatsapp(wa_messages(amendment, sender=sender))
        assert answer.status_code == 200, answer.text
        [said] = answer.json()["received"]
        assert "waiting" not in said, said


async def test_an_amendment_of_an_amendment_changes_nothing(desk: Desk) -> None:
    await desk.whatsapp(wa_text(COMPLAINT, "wamid.Q1"))
    edited = await desk.whatsapp(wa_messages(wa_edit("wamid.Q2", "wamid.Q1", "Sudah diperbaiki")))
    assert edited.json()["received"][0]["amended"] == "edit"
    answer = await desk.whatsapp(wa_messages(wa_revoke("wamid.Q3", "wamid.Q2")))
    assert answer.status_code == 200
    assert answer.json()["received"][0]["ignored"]
    assert await desk.events() == ["ComplaintReceived", "MessageEdited"]


async def test_a_later_message_to_an_open_case_is_a_reply_and_to_a_closed_one_a_message(
    desk: Desk,
) -> None:
    """Workflow takes a reply as the information it waits for (else a note); reporting marks
    when they replied. A message after the closure is only read by officers."""
    await desk.whatsapp(wa_text(COMPLAINT, "wamid.R1"))
    await desk.whatsapp(wa_text("Ini foto papan nama usaha saya.", "wamid.R2"))
    assert await desk.events() == ["ComplaintReceived", "ComplainantReplied"]
    [row] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    await desk.fetch(  # as intake records workflow's closure of the case
        "INSERT INTO intake.closures (case_id, closed_at) VALUES ($1, now())", row["case_id"]
    )
    await desk.whatsapp(wa_text("Terima kasih.", "wamid.R3"))
    assert await desk.events() == ["ComplaintReceived", "ComplainantReplied", "MessageAdded"]
