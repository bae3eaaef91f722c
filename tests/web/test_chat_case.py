"""A chat complaint on the officer's case page: a refused file named with its reason, an edited
message with its earlier words, a withdrawn one marked (issue 16)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from pydantic import SecretStr

from services.intake.channels.meta import signature
from shared.settings import SERVICES, Settings
from shared.sop import Role
from tests.intake.meta import DOCX, wa_document, wa_edit, wa_message, wa_messages, wa_revoke
from tests.system import running, with_free_ports
from tests.web.casework import open_case_page, opened_case
from tests.web.conftest import Stack, screenshot, sign_in

SECRET = "wa-app-secret"


@pytest.fixture
async def chat_stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    """The office with its WhatsApp webhook configured (no outbound: no receipts sent)."""
    update = {"auth_demo_login": True, "whatsapp_app_secret": SecretStr(SECRET)}
    configured = with_free_ports(settings).model_copy(update=update)
    async with running(configured, tmp_path, SERVICES) as system:
        await system.start("gateway")
        origin = system.url("gateway")
        async with httpx.AsyncClient(base_url=origin, timeout=30) as http:
            yield Stack(origin, system.settings, system, http)


async def _post(stack: Stack, payload: dict[str, object]) -> httpx.Response:
    body = httpx.Request("POST", "/", json=payload).content
    headers = {"content-type": "application/json", "x-hub-signature-256": signature(SECRET, body)}
    return await stack.http.post("/intake/v1/webhooks/whatsapp", content=body, headers=headers)


async def test_the_case_page_shows_refused_files_edits_and_withdrawals(
    chat_stack: Stack, desk: Page
) -> None:
    first = await _post(
        chat_stack,
        wa_messages(
            wa_message("wamid.W1", "text", {"body": "Izin reklame belum terbit."}),
            wa_message("wamid.W2", "document", wa_document("laporan.docx", DOCX)),
            wa_message("wamid.W3", "text", {"body": "Petugas minta uang."}),
        ),
    )
    assert first.status_code == 200, first.text
    code = first.json()["received"][0]["tracking_code"]
    edit = wa_messages(wa_edit("wamid.W4", "wamid.W1", "Izin reklame ditolak tanpa alasan."))
    assert (await _post(chat_stack, edit)).status_code == 200
    assert (
        await _post(chat_stack, wa_messages(wa_revoke("wamid.W5", "wamid.W3")))
    ).status_code == 200
    case_id = await opened_case(chat_stack, code)

    await sign_in(desk, chat_stack, Role.TIM_PENGADUAN, "Uji")
    await open_case_page(desk, chat_stack, case_id)
    complainant = desk.locator("#pengaduan")
    await expect(complainant.locator("blockquote").first).to_have_text(
        "Izin reklame ditolak tanpa alasan."
    )
    await expect(complainant.locator("details summary")).to_have_text("Diubah pemohon 1 kali")
    await expect(complainant).to_contain_text("Berkas tidak diterima: laporan.docx")
    await expect(complainant).to_contain_text("Ditarik pemohon pada")
    await screenshot(desk, "petugas-kasus-whatsapp")
