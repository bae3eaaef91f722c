"""Acceptance: after an administrator erases a person, no table of any service and no queue
holds their name, phone or email readably; the rekap counts the same; officers read
"data dihapus". Also: the complainant hears of the closure on their channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import aio_pika
import aio_pika.abc
import asyncpg
import httpx
import pytest

from shared.settings import Settings
from shared.sop import Role
from tests.e2e.office import Office, office
from tests.intake.meta import SITI_WA, wa_text
from tests.intake.test_email import message
from tests.polling import eventually

NAME, EMAIL = "Siti Aminah", "siti.aminah@example.id"
PHONE_FORMS = ("81234567890",)  # the national digits: in +62…, 62… and 0… alike
NEEDLES = (NAME, EMAIL, "0812-3456-7890", *PHONE_FORMS)
TEXT = "Izin usaha saya belum selesai setelah tiga minggu, mohon ditindaklanjuti."


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Office]:
    async with office(settings) as everything:
        yield everything


async def readable_in_tables(settings: Settings, needles: tuple[str, ...]) -> list[str]:
    """Where any needle is found in clear in any table of any schema."""
    found = []
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE'"
        )
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            for row in await conn.fetch(f"SELECT * FROM {name}"):
                text = " ".join(_text(value) for value in row.values())
                found += [f"{name}: {n}" for n in needles if n.lower() in text.lower()]
    finally:
        await conn.close()
    return found


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("latin-1")
    return str(value)


async def _in_queues(settings: Settings, needles: tuple[str, ...]) -> list[str]:
    """Read every message of every queue (left in place: never acknowledged)."""
    api, auth = settings.management_api()
    async with httpx.AsyncClient(base_url=api, auth=auth, timeout=10) as http:
        queues = (await http.get(f"/api/queues/{settings.rabbitmq_vhost()}")).json()
    found = []
    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        for queue in queues:
            bodies = await _peek(connection, queue["name"])
            text = " ".join(body.decode("utf-8", "replace") for body in bodies)
            found += [f"queue {queue['name']}: {n}" for n in needles if n.lower() in text.lower()]
    finally:
        await connection.close()
    return found


async def _peek(connection: aio_pika.abc.AbstractConnection, name: str) -> list[bytes]:
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        waiting = int(queue.declaration_result.message_count or 0)
        bodies: list[bytes] = []
        if waiting:
            async with asyncio.timeout(10), queue.iterator() as messages:
                async for incoming in messages:
                    bodies.append(incoming.body)  # not acknowledged: it stays queued
                    if len(bodies) == waiting:
                        break
        return bodies
    finally:
        await channel.close()


async def _cases(running: Office) -> list[UUID]:
    rows = await running.intake.fetch("SELECT case_id FROM intake.submission_index")
    return [row["case_id"] for row in rows]


async def _submit_three_ways(running: Office) -> None:
    intake = running.intake
    assert (await intake.whatsapp(wa_text(TEXT, "wamid.P1", name=NAME))).status_code == 200
    await asyncio.to_thread(running.imap.deliver, bytes(message(TEXT, sender=f"{NAME} <{EMAIL}>")))
    recorded = await intake.http.post(
        "/intake/v1/officer/submissions",
        json={
            "channel": "phone",
            "text": f"{NAME} menelepon: {TEXT}",
            "contact": {"name": NAME, "phone": "0812-3456-7890", "email": EMAIL},
        },
        headers=running.officer(Role.PETUGAS),
    )
    assert recorded.status_code == 201, recorded.text


async def test_erasure_leaves_nothing_readable_and_the_rekap_unchanged(
    settings: Settings,
) -> None:
    async with office(settings) as running:
        await _erase_after_casework(running)
        assert await readable_in_tables(running.settings, NEEDLES) == []
        assert (await running.rekap())["total"] == 3
        await _officers_read_erased(running)
    # With the services stopped, every queue can be read (a single active consumer holds them).
    assert await _in_queues(settings, NEEDLES) == []
    assert await readable_in_tables(settings, NEEDLES) == []


async def _erase_after_casework(running: Office) -> None:
    await _submit_three_ways(running)
    assert await eventually(lambda: _total(running, 3), within=20)
    for case_id in await _cases(running):
        note = await running.workflow.post(
            f"/workflow/v1/cases/{case_id}/notes",
            json={"text": f"Sudah menelepon {NAME} di 0812-3456-7890 ({EMAIL})."},
            headers=running.officer(Role.TIM_PENGADUAN),
        )
        assert note.status_code == 200, note.text
    erased = await running.intake.http.post(
        "/intake/v1/erasures",
        json={"phone": "+6281234567890", "email": EMAIL},
        headers=running.officer(Role.ADMIN),
    )
    assert erased.status_code == 200, erased.text
    assert len(erased.json()["erased"]) == 3

    async def workflow_forgot() -> bool:
        rows = await running.intake.fetch("SELECT key FROM workflow.case_keys")
        return len(rows) == 3 and all(row["key"] is None for row in rows)

    assert await eventually(workflow_forgot, within=15)


async def _officers_read_erased(running: Office) -> None:
    case_id = (await _cases(running))[0]
    view = await running.intake.http.get(
        f"/intake/v1/submissions/{case_id}", headers=running.officer(Role.TIM_PENGADUAN)
    )
    assert view.json()["text"] == "data dihapus"
    assert view.json()["contact"] == "data dihapus"
    case = await running.workflow.get(
        f"/workflow/v1/cases/{case_id}", headers=running.officer(Role.TIM_PENGADUAN)
    )
    timeline = case.json()["timeline"]
    assert timeline[-1]["event"] == "CaseDataErased"
    notes = [e["details"]["text"] for e in timeline if e["event"] == "NoteAdded"]
    assert notes == ["data dihapus"]


async def _total(running: Office, total: int) -> dict[str, Any] | None:
    rekap = await running.rekap()
    return rekap if rekap["total"] == total else None


async def test_the_complainant_hears_of_the_closure_on_whatsapp(running: Office) -> None:
    answer = await running.intake.whatsapp(wa_text(TEXT, "wamid.C1"))
    assert answer.status_code == 200
    await running.counted("whatsapp")
    [case_id] = await _cases(running)
    resolved = await running.workflow.post(
        f"/workflow/v1/cases/{case_id}/identification/resolve",
        json={"version": 1, "answer": "Izin Anda sudah terbit hari ini; silakan unduh di OSS."},
        headers=running.officer(Role.TIM_PENGADUAN),
    )
    assert resolved.status_code == 200, resolved.text

    async def closing_message() -> list[dict[str, Any]]:
        sent = running.intake.graph.sent_to("/messages")
        return [m for m in sent if "selesai" in m["text"]["body"]]

    [closing] = await eventually(closing_message, within=15)
    assert closing["to"] == SITI_WA
    assert "sudah terbit" in closing["text"]["body"]
    # The case is closed: the sender's next message opens a new one, within the window or not.
    later = await running.intake.whatsapp(wa_text("Ada masalah lain di loket.", "wamid.C2"))
    [received] = later.json()["received"]
    assert received["added"] is False
    assert received["tracking_code"] != answer.json()["received"][0]["tracking_code"]
