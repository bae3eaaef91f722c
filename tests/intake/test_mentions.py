"""The identifiers typed into texts, indexed as keyed hashes: on arrival (a web complaint, an
anonymous one, a later WhatsApp message), and for texts stored before by `index-mentions`."""

from __future__ import annotations

import asyncio

from services.intake import mentions
from services.intake.lookup import index_earlier
from shared.sop import Role
from tests.intake.conftest import Desk
from tests.intake.meta import wa_edit, wa_messages, wa_text
from tests.intake.test_lookup import _lookup

NIK = "3525015508950003"
COMPLAINT = {"category": "perizinan_berusaha", "consent": True}


async def _codes(desk: Desk, **identifier: str) -> list[str]:
    answer = await desk.http.post(
        "/intake/v1/erasures", json=identifier, headers=desk.officer(Role.ADMIN)
    )
    assert answer.status_code == 200, answer.text
    return sorted(answer.json()["erased"])


async def test_erasure_finds_what_was_typed_into_texts_indexed_now_or_later(desk: Desk) -> None:
    named = await desk.http.post(
        "/intake/v1/complaints",
        json=COMPLAINT | {"text": f"NIK saya {NIK}.", "contact": {"name": "Rahma"}},
    )
    anonymous = await desk.http.post(
        "/intake/v1/complaints",
        json=COMPLAINT | {"text": "Telepon saya 0857 1234 9876.", "anonymous": True},
    )
    assert (named.status_code, anonymous.status_code) == (201, 201), anonymous.text
    first = await desk.whatsapp(wa_text("Izin saya belum terbit.", "wamid.M1"))
    later = await desk.whatsapp(wa_text("Email saya rahma@contoh.id", "wamid.M2"))
    [received] = later.json()["received"]
    assert received["added"] is True  # a later message of the same conversation
    assert received["tracking_code"] == first.json()["received"][0]["tracking_code"]
    hashes = await desk.fetch("SELECT hash FROM intake.mentions")
    assert len(hashes) == 3  # the NIK, the phone, the e-mail of the later message
    assert not [h for h in hashes if NIK in h["hash"]]  # keyed hashes, never the value

    await desk.fetch("DELETE FROM intake.mentions")  # as stored before this release
    inbox = desk.app.state.inbox
    indexed = await asyncio.to_thread(mentions.index, inbox.submissions, inbox.pseudonyms)
    assert indexed == 3
    assert await _codes(desk, nik=NIK) == [named.json()["tracking_code"]]
    assert await _codes(desk, phone="+6285712349876") == [anonymous.json()["tracking_code"]]
    assert await _codes(desk, email="RAHMA@contoh.id") == [received["tracking_code"]]


async def test_an_edit_is_indexed_for_erasure_and_search_now_and_by_the_backfills(
    desk: Desk,
) -> None:
    first = await desk.whatsapp(wa_text("Izin saya belum terbit.", "wamid.E1"))
    [received] = first.json()["received"]
    edited = await desk.whatsapp(
        wa_messages(wa_edit("wamid.E2", "wamid.E1", f"Izin reklame NIK {NIK} belum terbit."))
    )
    assert edited.json()["received"][0]["amended"] == "edit"
    [row] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    case_id = str(row["case_id"])
    assert await _lookup(desk, words="reklame") == [case_id]
    assert len(await desk.fetch("SELECT hash FROM intake.mentions")) == 1

    await desk.fetch("DELETE FROM intake.mentions")  # as stored before this release
    await desk.fetch("DELETE FROM intake.search_words")
    await desk.fetch("DELETE FROM intake.search_indexed")
    inbox = desk.app.state.inbox
    assert await asyncio.to_thread(mentions.index, inbox.submissions, inbox.pseudonyms) == 1
    assert await asyncio.to_thread(index_earlier, inbox) == 1
    assert await _lookup(desk, words="reklame") == [case_id]
    assert await _codes(desk, nik=NIK) == [received["tracking_code"]]
