"""Intake's internal search: what officers find a case by, kept without clear identifiers,
answered only to the service credential, and gone with the person on erasure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.intake.draft import Addition
from services.intake.lookup import Lookup, find, index_earlier
from shared.channels import Channel
from shared.feed import CREDENTIAL_HEADER, service_credential
from shared.sop import Role
from tests.intake.conftest import Desk

FORM = {
    "text": "Pungutan liar di loket perizinan; nomor saya 081234500077, NIK 3525010101900009.",
    "contact": {"name": "Dewi Lestari", "phone": "+6281234500077"},
    "consent": True,
}

LAMP = {
    "text": "Lampu jalan mati.",
    "contact": {"name": "Dewi Sartika", "phone": "+6281234500088"},
    "consent": True,
}


async def _credential(desk: Desk) -> dict[str, str]:
    conn = await asyncpg.connect(desk.settings.postgres_dsn())
    try:
        return {CREDENTIAL_HEADER: await service_credential(desk.settings, conn)}
    finally:
        await conn.close()


async def _lookup(desk: Desk, **criteria: str) -> list[str]:
    answer = await desk.http.post(
        "/internal/v1/lookup", json=criteria, headers=await _credential(desk)
    )
    assert answer.status_code == 200, answer.text
    found: list[str] = answer.json()["case_ids"]
    return found


async def _submit(desk: Desk, form: dict[str, Any] = FORM) -> str:
    answer = await desk.http.post("/intake/v1/complaints", json=form)
    assert answer.status_code == 201, answer.text
    [row] = await desk.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1",
        answer.json()["tracking_code"],
    )
    return str(row["case_id"])


async def test_the_lookup_answers_the_service_credential_only(desk: Desk) -> None:
    for headers in ({}, {CREDENTIAL_HEADER: "tebakan"}):
        answer = await desk.http.post("/internal/v1/lookup", json={"name": "dewi"}, headers=headers)
        assert answer.status_code == 403, answer.text
    refused: Any = await desk.http.post(
        "/internal/v1/lookup", json={"sql": "1"}, headers=await _credential(desk)
    )
    assert refused.status_code == 422


async def test_a_lookup_refuses_odd_agencies_with_a_reason(desk: Desk) -> None:
    """The officer's agencies reporting sends: a bounded list of printable ids, else 422."""
    credential = await _credential(desk)
    odd: list[Any] = [["x"] * 1001, ["dinas\x00b"], ["a" * 101], "dinas-b", [{"id": "x"}]]
    for wrong in odd:
        answer = await desk.http.post(
            "/internal/v1/lookup",
            json={"words": "lampu", "agencies": wrong},
            headers=credential,
        )
        assert answer.status_code == 422, (wrong, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    case_id = await _submit(desk, LAMP)
    for agencies, found in (([], []), ([desk.settings.agency], [case_id]), (None, [case_id])):
        answer = await desk.http.post(
            "/internal/v1/lookup",
            json={"words": "lampu", "agencies": agencies},
            headers=credential,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"case_ids": found, "more": False}, agencies


async def test_the_index_holds_no_identifier_in_clear(desk: Desk) -> None:
    case_id = await _submit(desk)
    assert await _lookup(desk, words="pungutan loket") == [case_id]
    assert await _lookup(desk, name="lestari") == [case_id]
    [row] = await desk.fetch("SELECT words::text AS words FROM intake.search_words")
    for clear in ("081234500077", "3525010101900009"):
        assert clear not in row["words"]  # masked before indexing (shared.pii)
    assert await _lookup(desk, words="081234500077") == []
    hashes = [r["hash"] for r in await desk.fetch("SELECT hash FROM intake.name_words")]
    assert len(hashes) == 2
    assert not any("dewi" in h or "lestari" in h for h in hashes)


async def test_erasure_takes_the_search_index_with_it(desk: Desk) -> None:
    await _submit(desk)
    erased = await desk.http.post(
        "/intake/v1/erasures", json={"phone": "+6281234500077"}, headers=desk.officer(Role.ADMIN)
    )
    assert erased.status_code == 200, erased.text
    assert await desk.fetch("SELECT 1 FROM intake.search_words") == []
    assert await desk.fetch("SELECT 1 FROM intake.name_words") == []
    assert await _lookup(desk, name="Dewi Lestari") == []
    assert await _lookup(desk, words="pungutan") == []


async def test_submissions_stored_before_the_index_are_indexed(desk: Desk) -> None:
    case_id = await _submit(desk)
    erased = await _submit(desk, LAMP)
    answer = await desk.http.post(
        "/intake/v1/erasures", json={"phone": "+6281234500088"}, headers=desk.officer(Role.ADMIN)
    )
    assert answer.status_code == 200, answer.text
    await desk.fetch("DELETE FROM intake.search_words")
    await desk.fetch("DELETE FROM intake.search_indexed")
    await desk.fetch("DELETE FROM intake.name_words")
    assert await _lookup(desk, name="dewi") == []
    inbox = desk.app.state.inbox
    assert await asyncio.to_thread(index_earlier, inbox) == 2
    assert await _lookup(desk, name="dewi") == [case_id]
    assert await _lookup(desk, words="pungutan loket") == [case_id]
    assert await asyncio.to_thread(index_earlier, inbox) == 0  # each once, the erased one too
    assert erased not in await _lookup(desk, words="lampu")


async def test_a_lookup_says_when_it_found_more_than_it_answers(desk: Desk) -> None:
    await _submit(desk)
    await _submit(desk, LAMP | {"text": "Pungutan di loket lagi."})
    inbox = desk.app.state.inbox
    found = await asyncio.to_thread(find, inbox, Lookup(words="pungutan"), 1)
    assert len(found.case_ids) == 1
    assert found.more
    found = await asyncio.to_thread(find, inbox, Lookup(words="pungutan"), 2)
    assert not found.more


async def test_a_case_stored_before_the_index_is_backfilled_after_a_later_message(
    desk: Desk,
) -> None:
    case_id = await _submit(desk)
    for table in ("search_words", "search_indexed", "name_words"):  # as stored before the index
        await desk.fetch(f"DELETE FROM intake.{table}")
    inbox = desk.app.state.inbox
    later = Addition(Channel.WEB, "later-1", "Lampiran susulan.", datetime.now(UTC))
    await inbox.add(UUID(case_id), later)  # gives the case a search_words row of its own
    assert await _lookup(desk, words="pungutan loket") == []
    assert await asyncio.to_thread(index_earlier, inbox) == 1
    assert await _lookup(desk, words="pungutan loket") == [case_id]
    assert await _lookup(desk, words="susulan") == [case_id]
    assert await _lookup(desk, name="dewi") == [case_id]
    assert await asyncio.to_thread(index_earlier, inbox) == 0
