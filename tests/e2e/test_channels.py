"""Acceptance: every channel, through its own protocol, makes exactly one case in the rekap,
counted under that channel; a WhatsApp burst and an email thread each make one case."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from shared.settings import Settings
from shared.sop import Role
from tests.e2e.office import Office, office
from tests.intake.conftest import LAPOR_INBOUND
from tests.intake.meta import ig_message, instagram, wa_image, wa_text
from tests.intake.test_email import message
from tests.polling import eventually

TEXT = "Izin usaha saya belum selesai setelah tiga minggu, mohon ditindaklanjuti."


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Office]:
    async with office(settings) as everything:
        yield everything


async def test_web_form(running: Office) -> None:
    answer = await running.intake.http.post("/intake/v1/complaints", json={"text": TEXT})
    assert answer.status_code == 201
    await running.counted("web")


async def test_qr_code_form(running: Office) -> None:
    answer = await running.intake.http.post(
        "/intake/v1/complaints", params={"via": "qr"}, json={"text": TEXT}
    )
    assert answer.status_code == 201
    await running.counted("qr")


@pytest.mark.parametrize("channel", ["letter", "phone", "counter", "suggestion_box", "sms"])
async def test_officer_recorded(running: Office, channel: str) -> None:
    answer = await running.intake.http.post(
        "/intake/v1/officer/submissions",
        json={"channel": channel, "text": TEXT},
        headers=running.officer(Role.PETUGAS),
    )
    assert answer.status_code == 201, answer.text
    await running.counted(channel)


async def test_whatsapp_burst_is_one_case(running: Office) -> None:
    for payload in (
        wa_text("halo", "wamid.E1"),
        wa_text("mau lapor", "wamid.E2"),
        wa_text(TEXT, "wamid.E3"),
        wa_image("wamid.E4", caption="foto berkas"),
    ):
        assert (await running.intake.whatsapp(payload)).status_code == 200
    await running.counted("whatsapp")
    assert await running.intake.events() == ["ComplaintReceived", *["ComplainantReplied"] * 3]


async def test_instagram(running: Office) -> None:
    answer = await running.intake.instagram(instagram(ig_message("mid.E1", TEXT)))
    assert answer.status_code == 200
    await running.counted("instagram")


async def test_email_thread_is_one_case(running: Office) -> None:
    first = message(TEXT)
    await asyncio.to_thread(running.imap.deliver, bytes(first))
    await running.counted("email")
    reply = message("Nomor berkas 503/0012.", in_reply_to=first["Message-ID"])
    await asyncio.to_thread(running.imap.deliver, bytes(reply))

    async def both_parts() -> bool:
        return await running.intake.events() == ["ComplaintReceived", "ComplainantReplied"]

    assert await eventually(both_parts, within=10)
    await running.counted("email")


async def test_lapor(running: Office) -> None:
    answer = await running.intake.http.post(
        "/intake/v1/lapor/complaints",
        json={"tracking_id": "LAP-E2E-1", "content": TEXT},
        headers={"Authorization": f"Bearer {LAPOR_INBOUND}"},
    )
    assert answer.status_code == 201, answer.text
    await running.counted("lapor")
