"""A NUL (or other control character) in what a channel hands over never reaches the store,
and one submission the store refuses never costs the others of its group commit."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from services.intake.draft import Draft, to_pending
from services.intake.inbox import Inbox, is_new_conversation_request
from shared.channels import Channel
from shared.sop import Kind, Role
from tests.intake.conftest import Desk
from tests.intake.meta import ig_message, instagram, wa_message, wa_messages, wa_text
from tests.intake.test_lookup import _lookup

COMPLAINT = "Izin usaha saya belum selesai setelah tiga minggu, mohon dibantu."


def _draft(inbox: Inbox, text: str, message_id: str) -> Draft:
    return Draft(
        kind=Kind.COMPLAINT,
        channel=Channel.EMAIL,
        text=text,
        received_at=datetime.now(UTC),
        agency=inbox.settings.agency,
        message_id=message_id,
    )


async def test_a_chat_message_with_nul_is_stored_and_indexed_without_it(desk: Desk) -> None:
    first = await desk.whatsapp(wa_text("Izin\x00 usaha\x07 saya belum selesai.", "wamid.N1"))
    assert first.status_code == 200, first.text
    later = await desk.whatsapp(wa_text("Mohon\x00 segera dibantu.", "wamid.N2"))
    assert later.status_code == 200, later.text
    assert await desk.events() == ["ComplaintReceived", "ComplainantReplied"]
    [case] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    for words in ("usaha", "segera dibantu"):
        assert await _lookup(desk, words=words) == [str(case["case_id"])]


@pytest.mark.parametrize("channel", ["whatsapp", "instagram"])
async def test_half_an_emoji_in_a_chat_message_is_dropped_not_a_500(
    desk: Desk, channel: str
) -> None:
    """A lone surrogate (half of an emoji's pair, escaped in JSON as Meta escapes text) in the
    text and the sender's name: the message is stored without it, as any control character."""
    if channel == "whatsapp":
        payload = wa_text("Izin usaha \ud83d saya belum selesai.", "wamid.S1", name="Siti \udc00")
        answer = await desk.whatsapp(json.dumps(payload).encode())  # ensure_ascii: \ud83d
    else:
        payload = instagram(ig_message("mid.S1", "Izin usaha \ud83d saya belum selesai."))
        answer = await desk.instagram(json.dumps(payload).encode())
    assert answer.status_code == 200, answer.text
    assert await desk.events() == ["ComplaintReceived"]
    assert await _lookup(desk, words="usaha") != []
    [case] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    view = await desk.http.get(
        f"/intake/v1/submissions/{case['case_id']}", headers=desk.officer(Role.TIM_PENGADUAN)
    )
    assert view.json()["text"] == "Izin usaha  saya belum selesai."


async def test_one_submission_the_store_refuses_costs_the_others_nothing(desk: Desk) -> None:
    inbox: Inbox = desk.app.state.inbox
    good = [to_pending(_draft(inbox, COMPLAINT, f"<ok-{n}@warga>")) for n in range(3)]
    bad = to_pending(_draft(inbox, COMPLAINT, "<bad@warga>"))
    bad.rows.words = [(bad.case_id, "teks\x00rusak")]  # what psycopg refuses to send
    batch = [good[0], bad, *good[1:]]
    outcomes = await asyncio.gather(
        *(inbox.writer.write(item) for item in batch), return_exceptions=True
    )
    refused = outcomes.pop(1)
    assert isinstance(refused, Exception), refused
    assert not any(isinstance(outcome, BaseException) for outcome in outcomes), outcomes
    stored = await desk.fetch("SELECT case_id FROM intake.submission_index")
    assert {row["case_id"] for row in stored} == {item.case_id for item in good}
    assert len(await desk.fetch("SELECT 1 FROM intake.submissions_events")) == len(good)
    with pytest.raises(Exception, match=r"NUL|0x00"):  # as a text or a binary parameter
        await asyncio.to_thread(inbox.writer.commit, [bad])
    again = await desk.fetch("SELECT case_id FROM intake.submission_index")
    assert len(again) == len(good), "a refused save left half of itself behind"
    assert len(await desk.fetch("SELECT 1 FROM intake.personal_keys")) == len(good)


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u2800", "\u200e\u200f", "\x07", "\u3164 \u200b"],
    ids=["zero-width space", "braille blank", "direction marks", "bell", "hangul filler"],
)
async def test_a_chat_message_of_invisible_characters_alone_opens_nothing(
    desk: Desk, text: str
) -> None:
    answer = await desk.whatsapp(wa_text(text, "wamid.I1"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["received"] == []
    assert await desk.events() == []


async def test_new_with_a_zero_width_space_still_ends_the_conversation(desk: Desk) -> None:
    first = await desk.whatsapp(wa_text(COMPLAINT, "wamid.Z1"))
    ended = await desk.whatsapp(wa_text("BARU\u200b", "wamid.Z2"))
    assert ended.json()["received"] == [{"message_id": "wamid.Z2", "conversation": "ended"}]
    again = await desk.whatsapp(wa_text(COMPLAINT, "wamid.Z3"))
    codes = {a.json()["received"][0]["tracking_code"] for a in (first, again)}
    assert len(codes) == 2


def test_new_over_two_lines_ends_the_conversation_and_split_words_do_not() -> None:
    assert is_new_conversation_request("LAPOR\nBARU")
    assert is_new_conversation_request("LAPOR\tBARU\u200b")
    assert not is_new_conversation_request("BA\nRU")


async def test_half_an_emoji_inside_a_flow_s_answers_is_dropped(desk: Desk) -> None:
    """A WhatsApp Flow's answers are JSON inside a string of the payload: read later, they pass
    the same cleaning as any text (sealing them failed on every redelivery)."""
    answers = json.dumps({"flow_token": "t", "keluhan": "Izin \ud83d belum terbit"})
    flow = {"type": "nfm_reply", "nfm_reply": {"name": "flow", "response_json": answers}}
    answer = await desk.whatsapp(wa_messages(wa_message("wamid.F1", "interactive", flow)))
    assert answer.status_code == 200, answer.text
    view = await desk.submission(answer.json()["received"][0]["tracking_code"])
    assert "Izin  belum terbit" in view["text"]
