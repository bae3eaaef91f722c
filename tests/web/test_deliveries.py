"""Messages to the complainant through the whole office: a web-form complainant with an email
hears of the receipt, the information request and the answer (aiosmtpd as the mail server);
a receipt the server refused is shown failed on the worklist and the case page, and sent again
from there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from pydantic import SecretStr

from shared.receipts import receipt_key, secret_for, tracking_link
from shared.settings import SERVICES, Settings
from shared.sop import Role
from tests.intake.standins import SmtpSink, smtp_sink
from tests.polling import eventually
from tests.system import running, with_free_ports
from tests.web.casework import COMPLAINT, api_step, opened_case, ready
from tests.web.conftest import Stack, screenshot, sign_in

SITI = "siti.aminah@example.id"
CREDENTIAL = "kredensial-layanan-uji"
ATTEMPTS = 2


@pytest.fixture
def smtp() -> Any:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
async def mailing(settings: Settings, tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[Stack]:
    """The office as processes behind the gateway, sending mail to the sink."""
    configured = with_free_ports(settings).model_copy(
        update={
            "auth_demo_login": True,
            "rate_ip_per_minute": 10_000,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "internal_token": SecretStr(CREDENTIAL),
            "delivery_backoff_seconds": 0.05,
            "delivery_poll_seconds": 0.2,
            "delivery_max_attempts": ATTEMPTS,
        }
    )
    async with running(configured, tmp_path, SERVICES) as system:
        await system.start("gateway")
        origin = system.url("gateway")
        async with httpx.AsyncClient(base_url=origin, timeout=30) as http:
            yield Stack(origin, system.settings, system, http)


async def mails(smtp: SmtpSink, count: int) -> list[Any]:
    async def arrived() -> list[Any]:
        return list(smtp.messages) if len(smtp.messages) >= count else []

    return await eventually(arrived, within=20)


async def test_a_web_complainant_hears_each_step_by_email_and_a_failure_is_resent(
    mailing: Stack, smtp: SmtpSink, desk: Page
) -> None:
    smtp.refuse(ATTEMPTS)  # the mail server refuses the receipt as often as it is tried
    complaint = COMPLAINT | {"contact": {"name": "Siti Aminah", "email": SITI}}
    answer = await mailing.http.post("/intake/v1/complaints", json=complaint)
    code = answer.json()["tracking_code"]
    case_id = await opened_case(mailing, code)
    settings = mailing.settings
    secret = secret_for(receipt_key(CREDENTIAL), code)
    link = tracking_link(settings.public_url, settings.tracking_page_path, code, secret)

    await sign_in(desk, mailing, Role.TIM_PENGADUAN, "Rina")
    failed = desk.locator("#pesan-gagal")

    async def shown() -> bool:
        await desk.goto(mailing.url("/petugas"))
        await ready(desk, "#daftar-kerja")
        return await failed.get_by_role("link", name=code).count() == 1

    await eventually(shown, within=20)
    await expect(failed).to_contain_text("1 pesan kepada pemohon gagal dikirim")
    await failed.get_by_role("link", name=code).click()
    await ready(desk, "#kasus")
    row = desk.locator("#daftar-pengiriman tbody tr")
    await expect(row).to_have_attribute("data-state", "failed")
    await expect(row).to_contain_text("Tanda terima")
    await expect(row).to_contain_text("SMTPDataError 550")
    await screenshot(desk, "petugas-pesan-gagal")
    await row.get_by_role("button", name="Kirim ulang").click()
    [receipt] = await mails(smtp, 1)
    assert receipt["To"] == SITI
    assert link in receipt.get_content()
    await desk.reload()
    await ready(desk, "#kasus")
    await expect(row).to_have_attribute("data-state", "sent")

    tim = Role.TIM_PENGADUAN
    await api_step(mailing, case_id, "information-request", tim, reason="Mohon kirim NIB.")
    request = (await mails(smtp, 2))[1]
    assert "informasi tambahan" in request.get_content()
    assert link in request.get_content()

    await api_step(mailing, case_id, "information-received", tim, summary="NIB diterima.")
    await api_step(mailing, case_id, "identification/resolve", tim, answer="Izin Anda terbit.")
    closure = (await mails(smtp, 3))[2]
    assert "Izin Anda terbit." in closure.get_content()
    assert link in closure.get_content()
    assert len(smtp.messages) == 3
