"""One web-form complainant's whole conversation with the office, as they live it on a phone.

They file on /formulir with an email; an officer on the desk asks for a document; the request
arrives by mail (aiosmtpd as the office's mail server) and its link opens their own view on
/lacak; they reply with a photo; the clock runs again by exactly the paused working time (as
the office calendar counts it); the officer reads the reply and answers; the answer arrives by
mail; "belum" reopens the case; the officer answers again; "sudah" opens the survey, taken once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import FilePayload, Page, expect

from shared.settings import SERVICES, Settings
from shared.sop import Role
from tests.intake.standins import SmtpSink, smtp_sink
from tests.polling import eventually
from tests.system import running, with_free_ports
from tests.web.casework import case_view, open_from_worklist, ready, take_action
from tests.web.conftest import Stack, screenshot, sign_in
from tests.web.test_complainant import ALWAYS_OPEN, answered, shows
from tests.web.test_public import COMPLAINT, count, error, fits, png, rate

SITI = "siti.aminah@example.id"
ASKED = "Mohon kirim foto papan nama usaha Anda."
REPLY = "Berikut foto papan nama usaha saya di Jl. Veteran."
ANSWER = "Izin usaha Anda sudah terbit dan dapat diunduh di OSS."
AGAIN = "Kami periksa ulang: izin sudah aktif; silakan masuk kembali ke OSS."
SURVEYS = "SELECT count(*) FROM intake.submissions_events WHERE topic LIKE '%SurveySubmitted'"
LINK = re.compile(r"https?://\S+/lacak\?kode=\S+#kunci=\S+")


@pytest.fixture
def smtp() -> Any:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[Stack]:
    """The office behind the gateway, mailing through the sink; its public address is the
    gateway's, so the links in the mail open here; a calendar that is always open, so a pause
    of seconds is working time (the test runs at any hour)."""
    configured = with_free_ports(settings)
    gateway = f"http://127.0.0.1:{configured.gateway_port}"
    configured = configured.model_copy(
        update={
            "auth_demo_login": True,
            "rate_ip_per_minute": 10_000,
            "office_hours": ALWAYS_OPEN,
            "public_url": gateway,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "delivery_backoff_seconds": 0.05,
            "delivery_poll_seconds": 0.2,
        }
    )
    async with running(configured, tmp_path, SERVICES) as system:
        await system.start("gateway")
        origin = system.url("gateway")
        async with httpx.AsyncClient(base_url=origin, timeout=30) as http:
            yield Stack(origin, system.settings, system, http)


async def mail(smtp: SmtpSink, number: int) -> EmailMessage:
    """The `number`th mail the sink received (1-based), once it has."""

    async def arrived() -> list[EmailMessage]:
        return list(smtp.messages) if len(smtp.messages) >= number else []

    return (await eventually(arrived, within=30))[number - 1]


def link_in(message: EmailMessage) -> str:
    """The one /lacak link of a mail, with its receipt secret."""
    found: set[str] = set(LINK.findall(message.get_content()))
    assert len(found) == 1, message.get_content()
    return found.pop()


async def open_link(phone: Page, link: str) -> None:
    """Open a link from a mail afresh (the same address again would not load the fragment)."""
    await phone.goto("about:blank")
    await phone.goto(link)


def entry(view: dict[str, Any], event: str) -> dict[str, Any]:
    """The last timeline entry of an event."""
    entries = [item for item in view["timeline"] if item["event"] == event]
    assert entries, event
    return dict(entries[-1])


async def status(stack: Stack, case_id: str, wanted: str) -> dict[str, Any]:
    """Workflow's case view once it has this status."""

    async def reached() -> dict[str, Any] | None:
        view: dict[str, Any] = await case_view(stack, case_id)
        return view if view["status"] == wanted else None

    view = await eventually(reached, within=20)
    assert view is not None
    return view


async def test_a_web_complainant_talks_with_the_office_by_mail_until_satisfied(
    stack: Stack, smtp: SmtpSink, phone: Page, desk: Page
) -> None:
    # The complaint, on the phone's form, with an email address.
    await phone.goto(stack.url("/formulir"))
    await phone.get_by_label("Kategori").select_option(label="Perizinan berusaha (OSS)")
    await phone.get_by_label("Isi pengaduan").fill(COMPLAINT)
    await phone.get_by_label("Nama", exact=True).fill("Siti Aminah")
    await phone.get_by_label("Email").fill(SITI)
    await phone.get_by_label("Saya menyetujui pemrosesan data pribadi").check()
    await phone.get_by_role("button", name="Kirim pengaduan").click()
    await phone.wait_for_url(re.compile(r"/terima-kasih\?kode="))
    code = (await phone.locator("#kode").inner_text()).strip()
    secret = (await phone.locator("#kunci").inner_text()).strip()
    await screenshot(phone, "perjalanan-1-terima-kasih")

    receipt = await mail(smtp, 1)
    assert receipt["To"] == SITI
    own = link_in(receipt)
    assert own == f"{stack.settings.public_url}/lacak?kode={code}#kunci={secret}"

    # The officer asks for a document, on the desk.
    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina Wulandari")
    await open_from_worklist(desk, stack, code)
    case_id = parse_qs(urlsplit(desk.url).query)["id"][0]
    await desk.locator("details[data-action='information-request'] summary").click()
    await take_action(
        desk,
        "information-request",
        {"Alasan": "Foto papan nama belum ada.", "Pesan untuk pemohon": ASKED},
    )
    paused = await status(stack, case_id, "waiting_info")

    request = await mail(smtp, 2)
    assert request["To"] == SITI
    assert "informasi tambahan" in request.get_content()
    assert link_in(request) == own

    # The link from the mail opens their own view: what the office asks, and a reply form.
    await open_link(phone, link_in(request))
    assert await eventually(lambda: shows(phone, "#permintaan", ASKED), within=20)
    await fits(phone)
    await screenshot(phone, "perjalanan-2-permintaan")
    await phone.get_by_label("Balasan untuk petugas").fill(REPLY)
    photo = FilePayload(name="papan.png", mimeType="image/png", buffer=png())
    await phone.get_by_label("Lampiran").set_input_files(photo)
    await phone.get_by_role("button", name="Kirim balasan").click()
    await expect(phone.locator("#hasil-balas")).to_contain_text("Balasan Anda sudah kami terima")
    await expect(phone.locator("#pesan-saya")).to_contain_text("papan.png")
    await screenshot(phone, "perjalanan-3-balasan")

    # The information is received and the clock runs again, by exactly the paused working time
    # as the office calendar counts it from the two moments.
    resumed = await status(stack, case_id, "in_progress")
    asked, received = entry(resumed, "InformationRequested"), entry(resumed, "InformationReceived")
    assert received["role"] == "pemohon"
    calendar = stack.settings.working_calendar()
    pause = calendar.between(
        datetime.fromisoformat(asked["at"]), datetime.fromisoformat(received["at"])
    )
    assert pause.total_seconds() > 0
    expected = calendar.add(datetime.fromisoformat(paused["deadline_at"]), pause)
    assert datetime.fromisoformat(resumed["deadline_at"]) == expected

    # The officer reads the reply and its photo, and answers.
    await desk.reload()
    await ready(desk, "#kasus")
    await expect(desk.get_by_text(REPLY)).to_be_visible()
    async with desk.expect_download() as downloading:
        await desk.locator("#pengaduan").get_by_role("button", name="Unduh papan.png").click()
    photo_path = await (await downloading.value).path()
    assert photo_path.read_bytes() == png()  # the photo as the complainant sent it
    await screenshot(desk, "perjalanan-4-petugas-balasan")
    await take_action(desk, "identification/resolve", {"Jawaban untuk pelapor": ANSWER})
    await status(stack, case_id, "resolved")

    # The answer by mail; its link; "belum" reopens the case.
    closure = await mail(smtp, 3)
    assert ANSWER in closure.get_content()
    await open_link(phone, link_in(closure))
    assert await eventually(lambda: shows(phone, "#selesai-tanya", "Sudah selesai?"), within=20)
    await expect(phone.locator("#jawaban")).to_contain_text(ANSWER)
    await screenshot(phone, "perjalanan-5-jawaban")
    assert await eventually(
        lambda: answered(phone, "Belum selesai", "menangani kembali"), within=20
    )
    reopened = await status(stack, case_id, "in_progress")
    assert reopened["timeline"][-1]["event"] == "CaseReopened"
    reopening = await mail(smtp, 4)
    assert "dibuka kembali" in reopening.get_content()

    # The officer answers again; "sudah" opens the survey, taken once.
    await desk.reload()
    await ready(desk, "#kasus")
    await take_action(desk, "identification/resolve", {"Jawaban untuk pelapor": AGAIN})
    await status(stack, case_id, "resolved")
    second = await mail(smtp, 5)
    assert AGAIN in second.get_content()
    await open_link(phone, link_in(second))
    assert await eventually(lambda: shows(phone, "#jawaban", AGAIN), within=20)
    assert await eventually(lambda: answered(phone, "Sudah selesai", "isi survei"), within=20)
    await phone.locator("#hasil-selesai").get_by_role("link", name="Isi survei kepuasan").click()
    await phone.wait_for_url(re.compile(r"/survei\?kode="))
    await expect(phone.locator("#survei")).to_be_visible()
    await rate(phone, [4, 3, 4, 4, 3, 4, 4, 3, 4])
    await phone.get_by_label("Jenis kelamin").select_option(label="Perempuan")
    await fits(phone)
    await screenshot(phone, "perjalanan-6-survei")
    await phone.get_by_role("button", name="Kirim penilaian").click()
    await expect(phone.locator("#selesai")).to_contain_text("Terima kasih atas penilaian Anda.")
    assert await count(stack, SURVEYS) == 1
    await open_link(phone, stack.url(f"/survei?kode={code}#kunci={secret}"))
    await expect(phone.locator("#belum-dibuka")).to_have_text(
        "Survei untuk tiket ini sudah diisi. Terima kasih."
    )
    await expect(error(phone, "secret")).to_have_count(0)
    assert await count(stack, SURVEYS) == 1
    assert len(smtp.messages) == 5  # receipt, request, answer, reopening, answer: nothing more
