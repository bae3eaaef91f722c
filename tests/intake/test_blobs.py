"""Attachments' bytes in intake.blobs: referenced by hash, erased with the person, orphans swept."""

from __future__ import annotations

import hashlib
import json

from services.intake.inbox import Inbox
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
