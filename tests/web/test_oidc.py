"""Officers sign in at a real OpenID Connect provider (panva's oidc-provider, run by Node.js):
the authorization code flow with PKCE from the login page, roles from the provider's claims."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from services.workflow.oidc import NO_ROLE, OTHER_AGENCY, REDIRECT_PATH
from shared.settings import SERVICES, Settings
from shared.sop import Role
from tests.identity_provider import OidcProvider, oidc_provider
from tests.system import running, with_free_ports
from tests.web.casework import open_from_worklist, submitted_complaint, take_action
from tests.web.conftest import DESKTOP, Stack, _context, screenshot


@pytest.fixture
async def provider_stack(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[Stack, OidcProvider]]:
    """The office behind the gateway, signing officers in at the test's provider."""
    configured = with_free_ports(settings)
    origin = f"http://127.0.0.1:{configured.gateway_port}"
    async with oidc_provider(origin + REDIRECT_PATH, tmp_path) as provider:
        configured = configured.model_copy(
            update={
                "auth_demo_login": True,  # only for the complaint's case to be found
                "rate_ip_per_minute": 10_000,
                "public_url": origin,
                **provider.settings(),
            }
        )
        async with running(configured, tmp_path, SERVICES) as system:
            await system.start("gateway")
            assert system.url("gateway") == origin, "the gateway moved to another port"
            async with httpx.AsyncClient(base_url=origin, timeout=30) as http:
                yield Stack(origin, system.settings, system, http), provider


async def sign_in_at_provider(page: Page, stack: Stack, login: str, *, shot: str = "") -> None:
    """From the login page through the provider's own login and consent pages."""
    await page.goto(stack.url("/petugas/masuk"))
    await page.get_by_role("button", name="Masuk melalui penyedia identitas").click()
    await page.wait_for_url(lambda url: not url.startswith(stack.origin))
    if shot:
        await screenshot(page, f"{shot}-penyedia")
    await page.locator("input[name=login]").fill(login)
    await page.locator("input[name=password]").fill("kata-sandi-di-penyedia")
    await page.get_by_role("button", name="Sign-in").click()
    await page.get_by_role("button", name="Continue").click()  # the provider's consent page


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (what the page itself reads)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def test_an_officer_signs_in_at_the_provider_and_acts_on_a_case_with_its_roles(
    provider_stack: tuple[Stack, OidcProvider], browser: Browser
) -> None:
    """The provider's login and consent, back on the worklist as Tim Pengaduan (the provider's
    group mapped to our role); the session acts on a case on the case page, and its token is
    accepted by another service; after signing out the provider asks for the password again
    (a shared desk); a kabid signs in the same way and takes the next step."""
    stack, _ = provider_stack
    case_id, code = await submitted_complaint(stack)
    context = await _context(browser, **DESKTOP)
    page = await context.new_page()
    await page.goto(stack.url("/petugas/masuk"))
    await expect(page.locator("#sso")).to_be_visible()
    await screenshot(page, "petugas-masuk-sso")

    await sign_in_at_provider(page, stack, "tim.andi", shot="petugas-masuk-sso")
    await page.wait_for_url(stack.url("/petugas"))
    await expect(page.locator("header .sesi")).to_contain_text("Andi Saputra (Tim Pengaduan)")
    token = await page.evaluate("sessionStorage.getItem('aduan.sesi')")
    claims = claims_of(token)
    assert claims["roles"] == [Role.TIM_PENGADUAN.value]
    assert claims["sub"] == "oidc:tim.andi"
    assert claims["iss"] == stack.settings.auth_issuer  # workflow's own short-lived token
    assert claims["exp"] - claims["iat"] == stack.settings.auth_token_minutes * 60

    await open_from_worklist(page, stack, code)
    await take_action(page, "identification/escalate", {"Catatan": "Perlu keputusan pimpinan."})
    listed = await stack.http.get(
        f"/reporting/v1/cases?code={code}", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200, listed.text
    assert [row["case_id"] for row in listed.json()] == [case_id]

    await page.get_by_role("button", name="Keluar").click()  # a shared desk: the next officer
    await page.wait_for_url(lambda url: "/petugas/masuk" in url)
    assert await page.evaluate("sessionStorage.getItem('aduan.sesi')") is None
    await page.get_by_role("button", name="Masuk melalui penyedia identitas").click()
    await expect(page.locator("input[name=login]")).to_be_visible()  # asked again (prompt=login)
    await context.close()

    context = await _context(browser, **DESKTOP)  # another officer, another browser
    page = await context.new_page()
    await sign_in_at_provider(page, stack, "kabid.sri")
    await page.wait_for_url(stack.url("/petugas"))
    await expect(page.locator("header .sesi")).to_contain_text("Sri Wahyuni (Kepala Bidang)")
    await open_from_worklist(page, stack, code)
    await take_action(page, "verification", {"Catatan": "Berkas lengkap; diteruskan."})
    await context.close()


async def test_an_account_without_a_mapped_role_is_refused_in_plain_words(
    provider_stack: tuple[Stack, OidcProvider], browser: Browser
) -> None:
    """A provider account whose groups map to none of our roles signs in at the provider but
    gets no session here: the callback page says why, in Indonesian."""
    stack, _ = provider_stack
    context = await _context(browser, **DESKTOP)
    page = await context.new_page()
    await sign_in_at_provider(page, stack, "tamu")
    await page.wait_for_url(lambda url: REDIRECT_PATH in url)
    alert = page.locator("#gagal [role=alert]")
    await expect(alert).to_have_text(NO_ROLE)
    await expect(page.get_by_role("link", name="Kembali ke halaman masuk")).to_be_visible()
    await screenshot(page, "petugas-masuk-sso-ditolak")
    assert await page.evaluate("sessionStorage.getItem('aduan.sesi')") is None
    assert "code=" not in page.url  # the code is not left in the address bar
    await page.goto(stack.url("/petugas"))
    await page.wait_for_url(lambda url: "/petugas/masuk" in url)
    await context.close()

    context = await _context(browser, **DESKTOP)
    page = await context.new_page()
    await sign_in_at_provider(page, stack, "luar.kabid")
    await expect(page.locator("#gagal [role=alert]")).to_have_text(OTHER_AGENCY)
    await context.close()
