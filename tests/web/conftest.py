"""The pages in a real browser: Debian's Chromium driven by Playwright, against the whole
office running as processes behind the gateway, as `make up` runs it.

Screenshots of the main pages go to artifacts/screenshots/ for a reviewer to look at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from deploy.preflight import CHROMIUM
from shared.settings import SERVICES, Settings
from shared.sop import Role
from tests.system import System, running, with_free_ports

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@dataclass
class Stack:
    """The office behind one origin, and an API client on it."""

    origin: str
    settings: Settings
    system: System
    http: httpx.AsyncClient

    def url(self, path: str) -> str:
        """An address on the origin."""
        return f"{self.origin}{path}"

    async def token(self, role: Role, name: str = "Uji") -> str:
        """A bearer token from the local login (what the login page calls)."""
        answer = await self.http.post(
            "/workflow/v1/auth/login", json={"name": name, "role": role.value}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token

    async def rows(self, query: str, *args: Any) -> list[Any]:
        """Rows of the test's database (to prove what was or was not stored)."""
        import asyncpg

        conn = await asyncpg.connect(self.settings.postgres_dsn())
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    """Intake, workflow, reporting and the gateway as processes on this test's servers."""
    configured = with_free_ports(settings).model_copy(
        update={"auth_demo_login": True, "rate_ip_per_minute": 10_000, "log_level": "info"}
    )
    async with running(configured, tmp_path, SERVICES) as system:
        await system.start("gateway")
        origin = system.url("gateway")
        async with httpx.AsyncClient(base_url=origin, timeout=30) as http:
            yield Stack(origin, system.settings, system, http)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (never a downloaded browser)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _context(browser: Browser, **options: Any) -> BrowserContext:
    context = await browser.new_context(
        locale="id-ID", timezone_id="Asia/Jakarta", accept_downloads=True, **options
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A phone-sized page, as most of the public opens the forms."""
    context = await _context(browser, **PHONE)
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
async def desk(browser: Browser) -> AsyncIterator[Page]:
    """A desktop page, as officers and analysts work."""
    context = await _context(browser, **DESKTOP)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page: Page, stack: Stack, role: Role, name: str) -> None:
    """Log in through the login page's demo form (a local run), as a tester does."""
    await page.goto(stack.url("/petugas/masuk"))
    await demo_sign_in(page, role, name)
    await page.wait_for_url(lambda url: "/petugas/masuk" not in url)


async def demo_sign_in(page: Page, role: Role, name: str) -> None:
    """Fill and send the demo form of the login page already open."""
    form = page.locator("#masuk-demo")
    await form.get_by_label("Nama", exact=True).fill(name)
    await form.get_by_label("Peran").select_option(role.value)
    await form.get_by_role("button", name="Masuk sebagai demo").click()
