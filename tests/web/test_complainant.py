"""The complainant's side on a phone, through the real services behind the gateway.

An anonymous and a confidential complainant open their own view with the code and the receipt
secret, read what the office asks, reply with a photo (the case's clock runs again by exactly
the paused working time), the officer sees the reply; "belum" reopens the case, later "sudah"
opens the survey. A stranger with the code alone sees the status and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from shared.receipts import SECRET_HEADER
from shared.settings import SERVICES, Settings
from shared.sop import Role
from tests.bodies import as_sent
from tests.e2e.test_complainant import REWALK
from tests.polling import eventually
from tests.system import running, with_free_ports
from tests.web.conftest import PHONE, Stack, _context, screenshot, sign_in
from tests.web.test_public import COMPLAINT, fits, png

ASKED = "Mohon kirim foto papan nama usaha Anda."
REPLY = "Berikut foto papan nama usaha saya di Jl. Veteran."
ANSWER = "Izin sudah terbit dan dapat diunduh di OSS."
ALWAYS_OPEN = {day: (time(0, 0), time(23, 59)) for day in range(7)}  # the pause counts whole


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    """The office on a calendar that is always open, so a pause of seconds is working time."""
    configured = with_free_ports(settings).model_copy(
        update={
            "auth_demo_login": True,
            "rate_ip_per_minute": 10_000,
            "office_hours": ALWAYS_OPEN,
        }
    )
    async with running(configured, tmp_path, SERVICES) as system:
        await system.start("gateway")
        origin = system.url("gateway")
        async with httpx.AsyncClient(base_url=origin, timeout=30) as http:
            yield Stack(origin, system.settings, system, http)


@pytest.fixture
async def stranger(browser: Browser) -> AsyncIterator[Page]:
    """Another phone: someone who only heard the tracking code."""
    context = await _context(browser, **PHONE)
    try:
        yield await context.new_page()
    finally:
        await context.close()


class Office:
    """The complaint team (and the heads a full walk needs), by the API."""

    def __init__(self, stack: Stack, token: str) -> None:
        self.stack, self.headers = stack, {"Authorization": f"Bearer {token}"}
        self.case_id = ""

    async def case(self) -> dict[str, Any]:
        view = await self.stack.http.get(f"/workflow/v1/cases/{self.case_id}", headers=self.headers)
        return dict(view.json())

    async def find(self, code: str) -> None:
        async def opened() -> str | None:
            rows = await self.stack.http.get(
                "/reporting/v1/cases", params={"code": code}, headers=self.headers
            )
            return rows.json()[0]["case_id"] if rows.status_code == 200 and rows.json() else None

        case_id = await eventually(opened, within=20)
        assert case_id
        self.case_id = case_id

        async def in_workflow() -> bool:
            return "version" in await self.case()

        assert await eventually(in_workflow, within=20)

    async def act(self, command: str, /, **body: Any) -> None:
        version = (await self.case())["version"]
        answer = await self.stack.http.post(
            f"/workflow/v1/cases/{self.case_id}/{command}",
            json={"version": version, **as_sent(command, body)},
            headers=self.headers,
        )
        assert answer.status_code == 200, answer.text

    async def until(self, status: str) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            view = await self.case()
            return view if view["status"] == status else None

        view = await eventually(reached, within=20)
        assert view is not None, status
        return view


async def shows(page: Page, selector: str, text: str) -> bool:
    """Reload the page; whether the selector now shows the text."""
    await page.reload()
    await expect(page.locator("#hasil:not(.tersembunyi), .galat").first).to_be_visible()
    found = page.locator(selector)
    return await found.is_visible() and text in await found.inner_text()


async def answered(page: Page, button: str, told: str) -> bool:
    """Answer "Sudah selesai?"; whether it was taken (intake may not have heard of the closure
    yet: then it says so, and the complainant tries again)."""
    box = page.locator("#hasil-selesai")
    await page.evaluate("document.querySelector('#hasil-selesai').replaceChildren()")
    await page.get_by_role("button", name=button).click()
    await expect(box).not_to_be_empty()
    return told in await box.inner_text()


async def test_a_request_for_information_without_a_message_still_says_what_is_wanted(
    stack: Stack, phone: Page
) -> None:
    """Asked with only the office's own reason: the box told the complainant to reply, and
    not what about (empty); the reason stays the office's."""
    receipt = await stack.http.post("/intake/v1/complaints", json={"text": COMPLAINT})
    code, link = receipt.json()["tracking_code"], receipt.json()["track_url"]
    office = Office(stack, await _token(stack, [Role.TIM_PENGADUAN]))
    await office.find(code)
    await office.act("information-request", reason="Catatan internal petugas.")
    await office.until("waiting_info")
    await phone.goto(stack.url(link))
    wanted = "keterangan atau dokumen tambahan"
    assert await eventually(lambda: shows(phone, "#permintaan", wanted), within=20)
    await expect(phone.locator("#milik-saya")).not_to_contain_text("Catatan internal")


@pytest.mark.parametrize("privacy", ["anonymous", "confidential"])
async def test_the_complainant_replies_disputes_and_is_surveyed_on_a_phone(
    stack: Stack, phone: Page, desk: Page, stranger: Page, privacy: str
) -> None:
    receipt = await stack.http.post(
        "/intake/v1/complaints", json={"text": COMPLAINT, privacy: True}
    )
    code, link = receipt.json()["tracking_code"], receipt.json()["track_url"]
    assert link.startswith("/lacak?kode=")  # the tracking page, never the JSON API
    roles = [Role.TIM_PENGADUAN, Role.KABID, Role.KEPALA_DINAS]
    issuer_token = await _token(stack, roles)
    office = Office(stack, issuer_token)
    await office.find(code)
    await office.act("information-request", reason="Foto belum ada.", message=ASKED)
    paused = await office.until("waiting_info")

    await phone.goto(stack.url(link))
    assert await eventually(lambda: shows(phone, "#permintaan", ASKED), within=20)
    await expect(phone.locator("#riwayat-pemohon")).to_contain_text("Pengaduan diterima")
    await expect(phone.locator("#riwayat-pemohon")).to_contain_text("meminta informasi")
    await fits(phone)
    await screenshot(phone, f"lacak-pemohon-{privacy}")
    await phone.get_by_label("Balasan untuk petugas").fill(REPLY)
    photo = FilePayload(name="papan.png", mimeType="image/png", buffer=png())
    await phone.get_by_label("Lampiran").set_input_files(photo)
    await phone.get_by_role("button", name="Kirim balasan").click()
    await expect(phone.locator("#hasil-balas")).to_contain_text("Balasan Anda sudah kami terima")
    await expect(phone.locator("#pesan-saya")).to_contain_text(REPLY)
    await expect(phone.locator("#pesan-saya")).to_contain_text("papan.png")
    # The office waits no more: the page says so without a reload (it kept asking).
    await expect(phone.locator("#permintaan")).to_be_hidden(timeout=20_000)
    # A file too big is refused before it is sent, and the earlier "received" goes.
    await phone.get_by_label("Balasan untuk petugas").fill(REPLY)
    big = FilePayload(name="besar.pdf", mimeType="application/pdf", buffer=b"%PDF" * 2_800_000)
    await phone.get_by_label("Lampiran").set_input_files(big)
    await phone.get_by_role("button", name="Kirim balasan").click()
    await expect(phone.locator('[data-field="files"] > .galat')).to_contain_text("paling besar")
    await expect(phone.locator("#hasil-balas")).to_be_empty()

    resumed = await office.until("in_progress")
    [received] = [e for e in resumed["timeline"] if e["event"] == "InformationReceived"]
    assert received["role"] == "pemohon"
    pause = timedelta(minutes=received["details"]["paused_minutes"])
    assert pause > timedelta(0)
    moved = datetime.fromisoformat(resumed["deadline_at"]) - datetime.fromisoformat(
        paused["deadline_at"]
    )
    assert abs(moved - pause) < timedelta(seconds=1)  # by exactly the paused working time

    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina")
    await desk.goto(stack.url(f"/petugas/kasus?id={office.case_id}"))
    await expect(desk.get_by_text(REPLY)).to_be_visible()  # the officer reads the reply
    await expect(desk.get_by_text("Pemohon mengirim balasan").first).to_be_visible()

    await stranger.goto(stack.url(f"/lacak?kode={code}"))
    await expect(stranger.locator("#hasil")).to_be_visible()
    await expect(stranger.locator("#milik-saya")).to_be_hidden()
    await expect(stranger.locator("#hasil")).not_to_contain_text(ASKED)
    refused = await stack.http.post(f"/intake/v1/own/{code}/replies", data={"text": REPLY})
    assert refused.status_code == 403
    await stranger.goto(stack.url(f"/survei?kode={code}"))
    await stranger.get_by_label("Kunci tanda terima").fill("AAAA-AAAA-AAAA")
    await stranger.get_by_role("button", name="Buka survei").click()
    await expect(stranger.locator('[data-field="secret"] > .galat')).to_contain_text("tidak cocok")

    await office.act("identification/resolve", answer=ANSWER)
    assert await eventually(lambda: shows(phone, "#selesai-tanya", "Sudah selesai?"), within=20)
    await expect(phone.locator("#jawaban")).to_contain_text(ANSWER)  # confidential too
    assert await eventually(
        lambda: answered(phone, "Belum selesai", "menangani kembali"), within=20
    )
    reopened = await office.until("in_progress")
    assert reopened["timeline"][-1]["event"] == "CaseReopened"

    for command, body in REWALK:
        await office.act(command, **body)
    await office.until("resolved")
    assert await eventually(lambda: shows(phone, "#selesai-tanya", "Sudah selesai?"), within=20)
    await expect(phone.locator("#riwayat-pemohon")).to_contain_text("Dibuka kembali")

    assert await eventually(lambda: answered(phone, "Sudah selesai", "isi survei"), within=20)
    await phone.locator("#hasil-selesai").get_by_role("link", name="Isi survei kepuasan").click()
    await phone.wait_for_url(re.compile(r"/survei\?kode="))
    await expect(phone.locator("#survei")).to_be_visible()  # open: closed, and not taken yet
    await fits(phone)


async def _token(stack: Stack, roles: list[Role]) -> str:
    from services.workflow.issuer import Issuer

    issuer = await Issuer.load(stack.settings)
    return issuer.mint(subject="tim-1", name="Rina", roles=roles)


def test_the_secret_header_is_the_receipts_contract() -> None:
    assert SECRET_HEADER == "X-Aduan-Receipt-Secret"  # the pages spell it (lacak.js, survei.js)
