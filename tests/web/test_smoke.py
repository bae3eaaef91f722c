"""The pages are served by the gateway and the local login works in the browser."""

from __future__ import annotations

from playwright.async_api import Page, expect

from shared.sop import Role
from tests.web.conftest import Stack, screenshot, sign_in


async def test_login_page_signs_an_officer_in(stack: Stack, desk: Page) -> None:
    await desk.goto(stack.url("/"))
    await expect(desk.get_by_role("heading", level=1)).to_have_text(
        "Layanan Pengaduan dan Konsultasi"
    )
    await screenshot(desk, "beranda")
    await desk.goto(stack.url("/petugas/masuk"))
    await desk.get_by_role("button", name="Masuk sebagai demo").click()
    await expect(desk.locator("#masuk-demo [data-field=name] .galat")).to_be_visible()
    await screenshot(desk, "masuk-galat")
    await sign_in(desk, stack, Role.KABID, "Budi")
    token = await desk.evaluate("sessionStorage.getItem('aduan.sesi')")
    assert isinstance(token, str)
    assert token.count(".") == 2
