"""Attachments' bytes in intake.blobs: referenced by hash, erased with the person, orphans swept."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime

import pytest

from services.intake.draft import Addition, Attachment
from services.intake.inbox import Inbox
from shared.channels import Channel
from shared.sop import Role
from tests.intake.conftest import Desk

PNG = b"\x89PNG\r\n\x1a\n" + bytes(2048)
FORM = {
    "text": "Lampu jalan mati sejak seminggu.",
    "contact": {"name": "Siti Aminah", "phone": "+6281234500099"},
}


async def _upload(desk: Desk) -> None:
    answer = await desk.http.post(
        "/intake/v1/forms/complaints",
        data={"form": json.dumps(FORM)},
        files={"files": ("lampu.png", PNG, "image/png")},
    )
    assert answer.status_code == 201, answer.text


async def test_the_row_references_sealed_bytes_stored_by_their_hash(desk: Desk) -> None:
    await _upload(desk)
    [row] = await desk.fetch(
        "SELECT a.content AS inline, a.blob, b.hash, b.content FROM intake.attachments a "
        "JOIN intake.blobs b ON b.hash = a.blob"
    )
    assert row["inline"] is None
    assert row["hash"] == hashlib.sha256(bytes(row["content"])).hexdigest()
    assert PNG not in bytes(row["content"])


async def test_orphans_older_than_a_day_are_swept_and_referenced_bytes_kept(desk: Desk) -> None:
    await _upload(desk)
    await desk.fetch(
        "INSERT INTO intake.blobs (hash, case_id, size, content, stored_at) VALUES "
        "('orphan-old', gen_random_uuid(), 1, '\\x00', now() - interval '2 days'), "
        "('orphan-new', gen_random_uuid(), 1, '\\x00', now())"
    )
    await desk.fetch("UPDATE intake.blobs SET stored_at = now() - interval '3 days'")
    inbox: Inbox = desk.app.state.inbox
    assert inbox.blobs.sweep() == 2  # both orphans are old now; the referenced one stays
    [kept] = await desk.fetch("SELECT b.hash FROM intake.blobs b")
    [row] = await desk.fetch("SELECT blob FROM intake.attachments")
    assert kept["hash"] == row["blob"]


async def test_erasure_removes_the_bytes(desk: Desk) -> None:
    await _upload(desk)
    erased = await desk.http.post(
        "/intake/v1/erasures", json={"phone": "+6281234500099"}, headers=desk.officer(Role.ADMIN)
    )
    assert erased.status_code == 200, erased.text
    assert await desk.fetch("SELECT 1 FROM intake.blobs") == []
    assert await desk.fetch("SELECT 1 FROM intake.attachments") == []


async def test_a_later_messages_files_wait_for_a_blob_slot_before_the_write(desk: Desk) -> None:
    """As a submission's: stored under the blob store's own limit, before the guarded write
    (never inside it, where they would spend the write's deadline)."""
    await _upload(desk)
    [row] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    inbox: Inbox = desk.app.state.inbox
    later = Addition(
        Channel.WEB,
        "later-1",
        "Foto kedua.",
        datetime.now(UTC),
        attachments=(Attachment("kedua.png", "image/png", PNG),),
    )
    slots = inbox.blobs._slots
    held = 0
    while not slots.locked():  # every upload slot taken
        await slots.acquire()
        held += 1
    try:
        adding = asyncio.create_task(inbox.add(row["case_id"], later))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(adding), 0.5)
        assert len(await desk.fetch("SELECT 1 FROM intake.attachments")) == 1  # not yet
    finally:
        for _ in range(held):
            slots.release()
    assert (await adding).added
    assert len(await desk.fetch("SELECT 1 FROM intake.blobs")) == 2
