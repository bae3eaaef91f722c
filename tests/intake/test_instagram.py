"""The Instagram messaging webhook: Meta's `instagram` payloads, the same rules as WhatsApp."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from services.intake.channels.instagram import Messaging, kind_name
from services.intake.channels.kinds import KINDS
from shared.channels import Channel
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
    assert await desk.events() == ["ComplaintReceived", "ComplainantReplied", "ComplainantReplied"]


async def test_the_same_message_three_times_is_one_submission(desk: Desk) -> None:
    answers = [await desk.instagram(instagram(ig_message("mid.R", COMPLAINT))) for _ in range(3)]
    received = [answer.json()["received"][0] for answer in answers]
    assert [r["replayed"] for r in received] == [False, True, True]
    assert len({r["tracking_code"] for r in received}) == 1
    assert await desk.events() == ["ComplaintReceived"]


async def test_a_deletion_of_a_message_instagram_cannot_show_waits_for_nothing(
    desk: Desk,
) -> None:
    """A kind Instagram does not show us (is_unsupported), then deleted by its sender: the
    message was received and kept as nothing, so the deletion is answered 200 at once (it was a
    409 for ten minutes)."""
    unsupported = instagram(ig_message("mid.U", is_unsupported=True))
    assert (await desk.instagram(unsupported)).json() == {"received": []}
    deleted = await desk.instagram(instagram(ig_message("mid.U", is_deleted=True)))
    assert deleted.status_code == 200, deleted.text
    [said] = deleted.json()["received"]
    assert said["ignored"], said
    assert await desk.events() == []


async def test_echoes_reads_reactions_and_comments_are_ignored(desk: Desk) -> None:
    payload = instagram(
        ig_message("mid.E", "balasan kami", is_echo=True),
        # sent an hour ago, past the wait for its message: nothing to withdraw
        ig_message("mid.D", is_deleted=True) | {"timestamp": int(time.time() - 3600) * 1000},
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
    # the deletion of a message never stored withdraws nothing
    assert answer.json() == {
        "received": [{"message_id": "mid.D#deleted", "ignored": "nothing to withdraw"}]
    }
    assert await desk.events() == []


BAD = {
    "malformed json": (b"{", 400),
    "whatsapp object on the instagram hook": (
        json.dumps({"object": "whatsapp_business_account", "entry": []}).encode(),
        422,
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
async def test_bad_notifications_get_a_4xx_and_store_nothing(desk: Desk, case: str) -> None:
    body, status = BAD[case]
    answer = await desk.instagram(body)
    assert answer.status_code == status, answer.text
    assert await desk.events() == []


async def test_a_broken_entry_costs_the_good_messages_beside_it_nothing(desk: Desk) -> None:
    good = instagram(ig_message("mid.G1", "Izin usaha saya belum selesai, mohon dibantu."))
    broken: list[Any] = [None, {"messaging": []}, {"id": "x", "messaging": "x"}]
    odd_events = {"id": IG_ACCOUNT_ID, "messaging": ["oops", None, 3]}
    notification = {"object": "instagram", "entry": [*broken, odd_events, *good["entry"]]}
    answer = await desk.instagram(notification)
    assert answer.status_code == 200, answer.text
    assert [r["message_id"] for r in answer.json()["received"]] == ["mid.G1"]
    assert await desk.events() == ["ComplaintReceived"]


async def test_a_signature_made_with_the_whatsapp_secret_is_refused(desk: Desk) -> None:
    body = instagram(ig_message("mid.S", COMPLAINT))
    answer = await desk.signed(WEBHOOK, body, "wa-app-secret")
    assert answer.status_code == 401
    assert await desk.events() == []


# --- Every kind of the Instagram messaging webhook (issue 16) ---


def _event(sender: str, **fields: Any) -> dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": IG_ACCOUNT_ID}, "timestamp": 1} | fields


PHOTO = [{"type": "image", "payload": {"url": "https://lookaside.example/ig/2.jpg"}}]


# kind → (a messaging event from `sender`, what the officer reads; None: opens nothing)
def ig_kinds(sender: str, n: int) -> dict[str, tuple[dict[str, Any], str | None]]:
    """One event per kind; ids unique per `n`."""
    return {
        "message": (ig_message(f"mid.{n}.text", COMPLAINT, sender=sender), COMPLAINT),
        "message with a photo": (
            ig_message(f"mid.{n}.photo", "Antrean loket", sender=sender, attachments=PHOTO),
            "Antrean loket",
        ),
        "message/quick_reply": (
            ig_message(f"mid.{n}.quick", "Lapor", sender=sender, quick_reply={"payload": "LAPOR"}),
            "Lapor",
        ),
        "postback": (
            _event(
                sender, postback={"mid": f"mid.{n}.pb", "title": "Cara melapor", "payload": "CARA"}
            ),
            "Cara melapor",
        ),
        "message/is_echo": (
            ig_message(f"mid.{n}.echo", "balasan", sender=sender, is_echo=True),
            None,
        ),
        "message/is_unsupported": (
            ig_message(f"mid.{n}.u", sender=sender, is_unsupported=True),
            None,
        ),
        "empty message": (ig_message(f"mid.{n}.empty", "  ", sender=sender), None),
        "reaction": (
            _event(sender, reaction={"mid": "mid.ours", "action": "react", "reaction": "love"}),
            None,
        ),
        "read": (_event(sender, read={"mid": "mid.ours"}), None),
        "referral": (
            _event(sender, referral={"ref": "iklan", "source": "ADS", "type": "OPEN_THREAD"}),
            None,
        ),
    }


def test_the_samples_cover_every_instagram_kind_of_the_table() -> None:
    sampled = {kind_name(Messaging.model_validate(e)) for e, _ in ig_kinds("1", 0).values()}
    sampled |= {"message_edit", "message/is_deleted", "changes"}  # posted by the tests below
    assert sampled == {kind.name for kind in KINDS if kind.channel is Channel.INSTAGRAM}


async def test_every_kind_from_its_own_sender_does_what_the_table_says(desk: Desk) -> None:
    expected: list[str] = []
    for n, (kind, (_, reads)) in enumerate(ig_kinds("x", 0).items()):
        sender = f"17841400000{n:04d}"
        payload = instagram(ig_kinds(sender, n)[kind][0])
        answer = await desk.instagram(payload)
        assert answer.status_code == 200, answer.text
        if reads is None:
            assert answer.json() == {"received": []}, kind
        else:
            expected.append("ComplaintReceived")
            view = await desk.submission(answer.json()["received"][0]["tracking_code"])
            assert view["text"] == reads, kind
        assert (await desk.instagram(payload)).status_code == 200  # a redelivery
        assert await desk.events() == expected, kind


async def test_one_senders_burst_with_an_edit_and_a_deletion_is_one_case(desk: Desk) -> None:
    kinds = ig_kinds(SITI_IGSID, 1)
    burst = [instagram(event) for event, _ in kinds.values()]
    edit = {"mid": "mid.1.text", "text": "Petugas meminta uang Rp500.000.", "num_edit": 1}
    burst.insert(1, instagram(_event(SITI_IGSID, message_edit=edit)))
    burst.append(instagram(ig_message("mid.1.quick", sender=SITI_IGSID, is_deleted=True)))
    answers = [await desk.instagram(payload) for payload in burst]
    assert [a.status_code for a in answers] == [200] * len(burst)
    codes = {r["tracking_code"] for a in answers for r in a.json()["received"]}
    assert len(codes) == 1
    kept = [reads for _, reads in kinds.values() if reads is not None]
    expected = ["ComplaintReceived", "MessageEdited", *["ComplainantReplied"] * (len(kept) - 1)]
    assert await desk.events() == [*expected, "MessageWithdrawn"]
    view = await desk.submission(codes.pop())
    assert view["text"] == edit["text"]
    assert [r["text"] for r in view["revisions"]] == [COMPLAINT]
    assert [p["text"] for p in view["parts"]] == kept[1:]
    assert [p["text"] for p in view["parts"] if p["withdrawn_at"]] == ["Lapor"]
    assert view["parts"][1]["data"] == {"quick_reply": {"payload": "LAPOR"}}
    for payload in burst:
        assert (await desk.instagram(payload)).status_code == 200
    assert await desk.events() == [*expected, "MessageWithdrawn"]


async def test_a_text_with_a_file_is_a_case_and_the_receipt_names_the_file(desk: Desk) -> None:
    pdf = {"type": "file", "payload": {"url": "https://lookaside.example/ig/berkas"}}
    payload = instagram(ig_message("mid.F", COMPLAINT, attachments=[pdf]))
    answer = await desk.instagram(payload)
    assert answer.status_code == 200, answer.text
    code = answer.json()["received"][0]["tracking_code"]
    view = await desk.submission(code)
    assert view["text"] == COMPLAINT
    assert [r["filename"] for r in view["refused"]] == ["file-1"]

    async def replied() -> list[dict[str, Any]]:
        return desk.graph.sent_to(f"/{IG_ACCOUNT_ID}/messages")

    [reply] = await eventually(replied, within=5)
    assert code in reply["message"]["text"]
    assert "file-1" in reply["message"]["text"]


async def test_a_shared_post_and_an_odd_event_are_kept_and_cost_the_others_nothing(
    desk: Desk,
) -> None:
    """A shared post (`ig_post`, Meta's form since November 2025) keeps its link; an event not of
    the shapes known here (an attachment type this version of the code cannot read, a message
    whose text is not a string) is kept whole for an officer; the others are taken as usual."""
    post = {
        "type": "ig_post",
        "payload": {
            "ig_post_media_id": "18139494541428835",
            "title": "Jalan berlubang",
            "url": "https://lookaside.example/ig_messaging_cdn/?asset_id=1",
        },
    }
    link = {"type": "fallback", "payload": None}
    events = [
        ig_message("mid.P1", "Lihat postingan ini", sender="1001", attachments=[post, link]),
        ig_message("mid.P2", {"bukan": "teks"}, sender="1002"),  # type: ignore[arg-type]
        ig_message("mid.P3", COMPLAINT, sender="1003"),
        ig_message("mid.P4", {"x": 1}, sender="1004", is_echo=True),  # type: ignore[arg-type]
    ]
    answer = await desk.instagram(instagram(*events))
    assert answer.status_code == 200, answer.text
    received = answer.json()["received"]
    assert len({r["tracking_code"] for r in received}) == 3
    shared = await desk.submission(received[0]["tracking_code"])
    assert shared["refused"] == []
    assert any("asset_id=1" in json.dumps(attachment) for attachment in shared["attachments"]), (
        shared["attachments"]
    )
    odd = await desk.submission(received[1]["tracking_code"])
    assert "tidak dapat dibaca" in odd["text"]
    assert "bukan" in json.dumps(odd["data"])
