"""The public pages in a browser: the forms, the receipt, tracking and the survey.

Every error a citizen can make is told in Bahasa Indonesia next to its field, as the API words
it, and leaves nothing stored.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import pytest
from playwright.async_api import FilePayload, Page, expect

from shared.channels import CHANNEL_LABELS, Channel
from shared.receipts import SECRET_HEADER
from shared.sop import Role
from shared.survey import SKM
from shared.tracking_code import new_code, normalize
from tests.polling import eventually
from tests.web.conftest import Stack, screenshot

COMPLAINT = "Izin usaha saya belum terbit setelah tiga minggu, padahal berkas sudah lengkap."
EVENTS = "SELECT count(*) FROM intake.submissions_events"
SURVEYS = "SELECT count(*) FROM intake.submissions_events WHERE topic LIKE '%SurveySubmitted'"


def png() -> bytes:
    """A valid one-pixel PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x1f\x6f\x8b")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def count(stack: Stack, sql: str, *args: Any) -> int:
    """The one number a count query answers."""
    value: int = (await stack.rows(sql, *args))[0][0]
    return value


async def fits(page: Page) -> None:
    """The page scrolls only downwards: nothing wider than the screen. (A phone's browser
    widens its layout to what is too wide, so innerWidth grows with it: the screen's width is
    the page's viewport as set.)"""
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size["width"] if page.viewport_size else 0
    assert scroll <= screen, f"{page.url} scrolls sideways ({scroll} > {screen})"


def error(page: Page, field: str) -> Any:
    """The message shown next to a field."""
    return page.locator(f'[data-field="{field}"] > .galat')


async def tracked(page: Page, *texts: str) -> bool:
    """Reload the tracking page; whether it now shows all the texts."""
    await page.reload()
    shown = page.locator("#hasil:not(.tersembunyi), [data-field=code] > .galat").first
    await expect(shown).to_be_visible()
    result = page.locator("#hasil")
    if not await result.is_visible():
        return False
    shown_text = await result.inner_text()
    return all(text in shown_text for text in texts)


async def file_on_phone(stack: Stack, phone: Page) -> str:
    """A citizen fills the complaint form on a phone, with a photo, contact and consent; the
    tracking code the confirmation page shows."""
    await phone.goto(stack.url("/formulir"))
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Formulir pengaduan")
    await phone.get_by_label("Kategori").select_option(label="Perizinan berusaha (OSS)")
    await phone.get_by_label("Isi pengaduan").fill(COMPLAINT)
    image = png()
    attachment = FilePayload(name="bukti.png", mimeType="image/png", buffer=image)
    await phone.get_by_label("Lampiran").set_input_files(attachment)
    await phone.get_by_label("Nama", exact=True).fill("Siti Aminah")
    await phone.get_by_label("Nomor telepon / WhatsApp").fill("0812 3456 7890")
    await phone.get_by_label("Email").fill("siti.aminah@example.id")
    await phone.get_by_label("NIK").fill("3525014101900001")
    await phone.get_by_label("Alamat").fill("Jl. Veteran 12, Gresik")
    await phone.get_by_label("Saya menyetujui pemrosesan data pribadi").check()
    await fits(phone)
    await screenshot(phone, "formulir")
    await phone.get_by_role("button", name="Kirim pengaduan").click()

    await phone.wait_for_url(re.compile(r"/terima-kasih\?kode="))
    await expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Pengaduan Anda sudah kami terima"
    )
    code = (await phone.locator("#kode").inner_text()).strip()
    assert normalize(code) == code
    qr = phone.get_by_role(
        "img", name=f"Kode QR yang membuka halaman lacak untuk nomor tiket {code}"
    )
    await expect(qr).to_be_visible()
    await phone.wait_for_function("document.querySelector('#qr').naturalWidth > 0")
    await expect(phone.get_by_text("14 hari kerja")).to_be_visible()
    secret = (await phone.locator("#kunci").inner_text()).strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", secret)
    own = phone.get_by_role("link", name="Buka halaman pengaduan saya")
    assert await own.get_attribute("href") == f"/lacak?kode={code}#kunci={secret}"
    await phone.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await phone.get_by_role("button", name="Salin kunci").click()  # typed by hand, mistyped
    await expect(phone.locator("#status-salin")).to_have_text("Kunci sudah disalin.")
    assert await phone.evaluate("navigator.clipboard.readText()") == secret
    assert "kunci" not in phone.url  # the secret left the address at once
    await fits(phone)
    await screenshot(phone, "terima-kasih")
    await phone.reload()
    await expect(phone.locator("#kotak-kunci")).to_be_hidden()  # shown once
    stored = await stack.rows("SELECT content_type, size FROM intake.attachments")
    assert (stored[-1]["content_type"], stored[-1]["size"]) == ("image/png", len(image))
    return code


@pytest.mark.parametrize("query", ["dari=abc", "dari=2026&sampai=2020"])
async def test_a_problem_told_on_the_rekap_page_fits_a_phone(
    stack: Stack, phone: Page, query: str
) -> None:
    """The box saying what to correct sat in the row of fields and widened the page."""
    await phone.goto(stack.url(f"/rekap?{query}"))
    await expect(phone.locator(".kotak-galat").first).to_be_visible()
    await fits(phone)


async def test_back_after_sending_shows_an_empty_form_not_the_one_sent(
    stack: Stack, phone: Page
) -> None:
    """Back from the receipt brought the filled form again, and sending it filed a second
    case: the form is emptied once it is sent."""
    await file_on_phone(stack, phone)
    await phone.go_back()
    await phone.wait_for_url(re.compile(r"/formulir"))
    await expect(phone.get_by_label("Isi pengaduan")).to_have_value("")
    await expect(phone.get_by_label("Nama", exact=True)).to_have_value("")
    assert await phone.get_by_label("Lampiran").evaluate("input => input.files.length") == 0
    assert await count(stack, EVENTS) == 1


async def test_a_citizen_files_a_complaint_on_a_phone_and_tracks_it(
    stack: Stack, phone: Page
) -> None:
    code = await file_on_phone(stack, phone)
    assert await count(stack, EVENTS) == 1
    await phone.get_by_role("link", name="Lacak status").click()
    await phone.wait_for_url(re.compile(r"/lacak\?kode="))
    await expect(phone.get_by_label("Nomor tiket")).to_have_value(code)
    assert await eventually(lambda: tracked(phone, "Diproses", "Identifikasi masalah"), within=20)
    details = phone.locator("#rincian")
    await expect(details).to_contain_text("Pengaduan")
    await expect(details).to_contain_text("Batas waktu penyelesaian")
    await expect(details).to_contain_text(CHANNEL_LABELS[Channel.WEB])
    await fits(phone)
    await screenshot(phone, "lacak")


async def test_an_anonymous_consultation_from_the_printed_qr_code(stack: Stack, desk: Page) -> None:
    await desk.goto(stack.url("/formulir?via=qr&tempat=counter&jenis=konsultasi"))
    await expect(desk.get_by_role("heading", level=1)).to_have_text("Formulir konsultasi")
    nav = desk.get_by_role("navigation", name="Navigasi utama")
    await expect(nav.get_by_role("link", name="Konsultasi")).to_have_attribute(
        "aria-current", "page"
    )
    await expect(nav.get_by_role("link", name="Pengaduan")).not_to_have_attribute(
        "aria-current", "page"
    )
    await desk.get_by_label("Pertanyaan Anda").fill("Bagaimana cara memperbarui NIB di OSS?")
    await desk.get_by_label("Nama", exact=True).fill("Tidak ikut terkirim")
    await desk.get_by_label("Kirim secara anonim").check()
    await expect(desk.get_by_label("Nama", exact=True)).to_be_hidden()
    await expect(desk.get_by_text("data kontak tidak dikirim")).to_be_visible()
    await screenshot(desk, "formulir-konsultasi-anonim")
    sent = "**/intake/v1/forms/consultations?via=qr"
    async with desk.expect_request(sent) as request_info:
        await desk.get_by_role("button", name="Kirim konsultasi").dblclick()
    request = await request_info.value
    assert request.headers.get("idempotency-key")
    assert '"anonymous":true' in (request.post_data or "")
    assert "Tidak ikut terkirim" not in (request.post_data or "")

    await desk.wait_for_url(re.compile(r"/terima-kasih\?kode=.*jenis=konsultasi"))
    await expect(desk.get_by_role("heading", level=1)).to_have_text(
        "Konsultasi Anda sudah kami terima"
    )
    code = (await desk.locator("#kode").inner_text()).strip()
    assert await count(stack, EVENTS) == 1  # one case for a double click
    [row] = await stack.rows(
        "SELECT fingerprint FROM intake.submission_index WHERE tracking_code = $1", code
    )
    assert row["fingerprint"]
    await desk.get_by_role("link", name="Lacak status").click()
    channel = CHANNEL_LABELS[Channel.QR]
    assert await eventually(lambda: tracked(desk, "Konsultasi", channel), within=20)
    await fits(desk)


async def test_bad_input_is_told_next_to_each_field_and_nothing_is_stored(
    stack: Stack, phone: Page
) -> None:
    await phone.goto(stack.url("/formulir"))
    text = phone.get_by_label("Isi pengaduan")
    await text.fill("Lambat.")
    send = phone.get_by_role("button", name="Kirim pengaduan")
    await send.click()
    await expect(error(phone, "text")).to_have_text("Terlalu pendek (minimal 10 karakter).")
    await expect(text).to_have_attribute("aria-invalid", "true")
    await expect(phone.get_by_role("alert")).to_contain_text("Periksa kembali")
    await fits(phone)
    await screenshot(phone, "formulir-galat")

    await text.fill(COMPLAINT)
    await phone.get_by_label("Nomor telepon / WhatsApp").fill("12")
    consent = phone.get_by_label("Saya menyetujui pemrosesan data pribadi")
    await consent.check()
    await send.click()
    await expect(error(phone, "contact.phone")).to_have_text("Nomor telepon tidak sah.")
    await expect(error(phone, "text")).to_have_count(0)

    await phone.get_by_label("Nomor telepon / WhatsApp").fill("0812 3456 7890")
    await consent.uncheck()
    await send.click()
    await expect(error(phone, "consent")).to_contain_text("Centang persetujuan")
    await expect(consent).to_have_attribute("aria-invalid", "true")

    await consent.check()
    renamed = FilePayload(name="surat.pdf", mimeType="application/pdf", buffer=b"MZ\x90\x00" * 64)
    await phone.get_by_label("Lampiran").set_input_files(renamed)
    async with phone.expect_response("**/intake/v1/forms/complaints") as response_info:
        await send.click()
    assert (await response_info.value).status == 415
    await expect(error(phone, "files")).to_contain_text("tidak diizinkan")
    assert await count(stack, EVENTS) == 0
    assert await count(stack, "SELECT count(*) FROM intake.attachments") == 0

    await phone.goto(stack.url("/lacak"))
    await phone.get_by_role("button", name="Lacak").click()
    await expect(error(phone, "code")).to_have_text("Masukkan nomor tiket.")
    for unknown in ("ABCD-EFGH", new_code()):
        await phone.get_by_label("Nomor tiket").fill(unknown)
        await phone.get_by_role("button", name="Lacak").click()
        await expect(error(phone, "code")).to_have_text("Nomor tiket tidak ditemukan.")
    await expect(phone.locator("#hasil")).to_be_hidden()
    await fits(phone)
    await screenshot(phone, "lacak-galat")

    await phone.goto(stack.url(f"/survei?kode={new_code()}#kunci=AAAA-AAAA-AAAA"))
    await expect(error(phone, "secret")).to_contain_text("Kunci tanda terima tidak cocok")
    await expect(phone.locator("#survei")).to_be_hidden()
    assert await count(stack, EVENTS) == 0


async def rate(page: Page, scores: list[int]) -> None:
    """Answer the first len(scores) survey elements, each by its own words for that score."""
    for number, (element, score) in enumerate(zip(SKM, scores, strict=False), start=1):
        group = page.get_by_role("group", name=f"{number}. {element.label}", exact=True)
        await group.get_by_label(element.answers[score - 1], exact=True).check()


async def close(stack: Stack, code: str) -> str:
    """Resolve a case at identification, as the complaint team would; its case id."""
    headers = {"Authorization": f"Bearer {await stack.token(Role.TIM_PENGADUAN)}"}

    async def opened() -> list[dict[str, Any]]:
        found = await stack.http.get(
            "/reporting/v1/cases", params={"code": code, "status": "in_progress"}, headers=headers
        )
        rows: list[dict[str, Any]] = found.json()
        return rows

    [case] = await eventually(opened, within=20)
    case_id: str = case["case_id"]
    view = (await stack.http.get(f"/workflow/v1/cases/{case_id}", headers=headers)).json()
    resolved = await stack.http.post(
        f"/workflow/v1/cases/{case_id}/identification/resolve",
        json={
            "version": view["version"],
            "answer": "Izin Anda sudah terbit; silakan unduh di OSS.",
        },
        headers=headers,
    )
    assert resolved.status_code == 200, resolved.text
    return case_id


async def test_a_closed_case_is_rated_once_on_the_survey_page(stack: Stack, phone: Page) -> None:
    answer = (await stack.http.post("/intake/v1/complaints", json={"text": COMPLAINT})).json()
    code, secret = answer["tracking_code"], answer["receipt_secret"]
    own = f"kode={code}#kunci={secret}"
    await phone.goto(stack.url(f"/survei?{own}"))
    await expect(phone.locator("#belum-dibuka")).to_have_text(
        "Survei dapat diisi setelah pengaduan selesai."
    )  # asked when the page opens: not offered before closure
    await expect(phone.locator("#survei")).to_be_hidden()
    assert await count(stack, SURVEYS) == 0

    case_id = await close(stack, code)
    closures = "SELECT count(*) FROM intake.closures WHERE case_id = $1::uuid"
    assert await eventually(lambda: count(stack, closures, case_id), within=20)
    await phone.goto(stack.url(f"/lacak?{own}"))
    assert await eventually(lambda: tracked(phone, "Selesai", "Izin Anda sudah terbit"), within=20)
    await phone.locator("#ajakan-survei").get_by_role("link", name="Isi survei kepuasan").click()
    await expect(phone.locator("#kode")).to_have_value(code)
    scores = [4, 3, 4, 4, 3, 4, 4, 3, 2]
    await rate(phone, scores[:-1])
    send = phone.get_by_role("button", name="Kirim penilaian")
    await send.click()
    last = f"scores.{len(SKM) - 1}"
    await expect(error(phone, last)).to_have_text("Pilih salah satu jawaban untuk unsur ini.")
    await expect(error(phone, "scores.0")).to_have_count(0)
    await rate(phone, scores)
    await phone.get_by_label("Jenis kelamin").select_option(label="Perempuan")
    await phone.get_by_label("Pendidikan terakhir").select_option(label="S1")
    await phone.get_by_label("Saran untuk perbaikan layanan").fill("Antrean loket dipercepat.")
    await fits(phone)
    await screenshot(phone, "survei")
    await send.click()
    await expect(phone.locator("#selesai")).to_contain_text("Terima kasih atas penilaian Anda.")
    await screenshot(phone, "survei-terima-kasih")
    assert await count(stack, SURVEYS) == 1

    await phone.goto("about:blank")  # the same address but its fragment would not load anew
    await phone.goto(stack.url(f"/survei?{own}"))
    await expect(phone.locator("#belum-dibuka")).to_have_text(
        "Survei untuk tiket ini sudah diisi. Terima kasih."
    )
    stranger = await stack.http.post(
        "/intake/v1/surveys", json={"tracking_code": code, "scores": scores}
    )
    assert stranger.status_code == 403  # the code alone takes no survey
    again = await stack.http.post(
        "/intake/v1/surveys",
        json={"tracking_code": code, "scores": scores},
        headers={SECRET_HEADER: secret},
    )
    assert again.status_code == 409
    assert await count(stack, SURVEYS) == 1


@pytest.mark.parametrize("path", ["/rekap", "/dasbor"])
async def test_a_visitor_reading_the_statistics_sees_the_public_header(
    stack: Stack, phone: Page, path: str
) -> None:
    """The rekap and the dashboard are public; a visitor was shown the officers' menu (work
    list, search, operations, account), each a dead end at the sign-in page."""
    await phone.goto(stack.url(path))
    nav = phone.get_by_role("navigation", name="Navigasi utama")
    await expect(nav.get_by_role("link", name="Lacak")).to_be_visible()
    for officers_only in ("Daftar kerja", "Cari kasus", "Operasi", "Akun"):
        await expect(nav.get_by_role("link", name=officers_only)).to_have_count(0)
    here = nav.get_by_role("link", name="Rekap" if path == "/rekap" else "Dasbor")
    await expect(here).to_have_attribute("aria-current", "page")
    await expect(phone.get_by_role("link", name="Masuk petugas")).to_be_visible()
    await expect(phone.get_by_role("link", name="Aduan · DPMPTSP")).to_have_attribute("href", "/")
    await fits(phone)
