"""The officer pages in a browser: worklists, the case page's actions, recording and searching.

Each officer signs in through the login page and opens the case from their own worklist, as
the office works; what the pages refuse is proved not stored.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from playwright.async_api import FilePayload, Page, expect

from shared.settings import Settings
from shared.sop import CURRENT, Kind, Role
from shared.working_time import MONTHS, WorkingCalendar
from tests.polling import eventually
from tests.web.casework import (
    action_forms,
    api_step,
    bearer,
    case_view,
    open_case_page,
    open_from_worklist,
    opened_case,
    ready,
    stored_events,
    submitted_complaint,
    take_action,
)
from tests.web.conftest import Stack, screenshot, sign_in
from tests.web.test_public import file_on_phone, fits

WIB = ZoneInfo("Asia/Jakarta")
LETTER = (
    "Dengan hormat, permohonan izin reklame kami di Jl. Veteran belum selesai setelah "
    "tiga minggu, padahal berkas sudah lengkap. Mohon kejelasannya."
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def attach(page: Page, name: str) -> None:
    """Upload a PDF on the case page."""
    version = int(await page.locator("#kasus").get_attribute("data-version") or 0)
    upload = page.locator("details[data-action='attachments']")
    await upload.locator("summary").click()
    await upload.get_by_label("Berkas").set_input_files(
        files=[FilePayload(name=name, mimeType="application/pdf", buffer=PDF)]
    )
    await upload.get_by_role("button", name="Unggah").click()
    await expect(page.locator("#kasus")).to_have_attribute("data-version", str(version + 1))


async def test_a_phone_complaint_walks_every_step_to_closure_and_into_the_recap(
    stack: Stack, phone: Page, desk: Page
) -> None:
    """The acceptance journey: a citizen files on a phone, each role acts from its worklist,
    the citizen sees the answer, the dashboard counts it, the analyst's XLSX opens."""
    code = await file_on_phone(stack, phone)

    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina")
    await open_from_worklist(desk, stack, code, shot="petugas-daftar-kerja")
    await expect(desk.locator("#pengaduan blockquote")).to_contain_text("Izin usaha saya")
    await expect(desk.locator("#pengaduan")).to_contain_text("Siti Aminah")
    await take_action(desk, "identification/escalate", {"Catatan": "Perlu keputusan pimpinan."})
    await expect(desk.locator("#bukan-giliran")).to_be_visible()

    await sign_in(desk, stack, Role.KABID, "Budi")
    await open_from_worklist(desk, stack, code)
    await expect(desk.locator("#pengaduan")).to_contain_text("tidak ditampilkan untuk peran Anda")
    await take_action(desk, "verification", {"Catatan": "Berkas lengkap; diteruskan."})

    await sign_in(desk, stack, Role.KEPALA_DINAS, "Kepala")
    await open_from_worklist(desk, stack, code)
    disposisi = desk.locator("form[data-action='disposition']")
    await expect(disposisi).to_contain_text("Kepada: Tim Pengaduan")
    await disposisi.get_by_label("Isi disposisi").fill("Tinjau ke lapangan bersama Dinas PUPR.")
    await screenshot(desk, "petugas-kasus-disposisi")
    await take_action(desk, "disposition", {})

    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina")
    await open_from_worklist(desk, stack, code)
    await take_action(
        desk,
        "investigation",
        {
            "Ringkasan hasil investigasi": "Berkas tertahan di verifikasi teknis.",
            "Instansi terkait": "Dinas PUPR\nSatpol PP",
        },
    )
    await attach(desk, "bap-ditandatangani.pdf")
    added = desk.locator("#linimasa li[data-event='AttachmentAdded']")
    await expect(added).to_contain_text("PDF")
    await expect(added).not_to_contain_text("application/pdf")  # the type, as officers say it
    bap = desk.locator("form[data-action='bap']")
    await bap.get_by_role("button", name="Sertakan bap-ditandatangani.pdf").click()
    attachment_id = (await bap.locator("[data-field='attachment_ids'] code").inner_text()).strip()
    await expect(bap.get_by_label("Id lampiran")).to_have_value(attachment_id)
    today = datetime.now(WIB).date().isoformat()
    for label, value in {
        "Tanggal pemeriksaan": today,
        "Tempat": "Lokasi reklame, Jl. Veteran",
        "Pihak yang hadir": "Tim Pengaduan\nHendra Wijaya (pemohon)\nDinas PUPR",
        "Temuan": "Rekomendasi teknis belum diterbitkan.",
        "Kesimpulan": "Rekomendasi diterbitkan; izin diproses ulang.",
    }.items():
        await bap.get_by_label(label).fill(value)
    await screenshot(desk, "petugas-kasus-bap")
    await take_action(desk, "bap", {})
    await take_action(
        desk,
        "follow-up",
        {
            "Tindak lanjut": "Izin diterbitkan ulang.",
            "Jawaban untuk pelapor": "Izin reklame Anda telah terbit.",
            "Nomor arsip": "ARSIP/2026/117",
        },
    )

    await expect(desk.locator("#ringkasan .lencana.selesai")).to_have_text("Selesai")
    bap_entry = desk.locator("#linimasa li[data-event='BapRecorded']")
    await expect(bap_entry).to_contain_text("Hendra Wijaya (pemohon)")
    await expect(bap_entry).to_contain_text("bap-ditandatangani.pdf")
    await screenshot(desk, "petugas-kasus-selesai")
    case_id = (desk.url.split("id=", 1))[1]
    view = await case_view(stack, case_id)
    assert [(e["event"], e["step"], e["role"]) for e in view["timeline"] if e["role"]] == [
        ("Escalated", "identification", "tim_pengaduan"),
        ("ComplaintVerified", "verification", "kabid"),
        ("DisposisiIssued", "disposition", "kepala_dinas"),
        ("InvestigationReported", "investigation", "tim_pengaduan"),
        ("AttachmentAdded", "investigation_report", "tim_pengaduan"),
        ("BapRecorded", "investigation_report", "tim_pengaduan"),
        ("FollowUpArchived", "follow_up", "tim_pengaduan"),
    ]
    assert view["channel"] == "web"
    assert view["status"] == "resolved"
    assert view["answer"] == "Izin reklame Anda telah terbit."

    await phone.goto(stack.url(f"/lacak?kode={code}"))
    await expect(phone.locator("#hasil")).to_contain_text("Selesai")
    await expect(phone.locator("#hasil")).to_contain_text("Izin reklame Anda telah terbit.")
    await in_the_recap(stack, desk)


async def in_the_recap(stack: Stack, desk: Page) -> None:
    """The month's dashboard counts the closed web complaint as on time; the recap the team
    produces downloads for the analyst as an XLSX that opens with it in."""
    now = datetime.now(WIB)

    async def projected() -> bool:
        answer = await stack.http.get(f"/reporting/v1/dashboard?year={now.year}&month={now.month}")
        return bool(answer.json()["timeliness"]["on_time"] == 1)

    assert await eventually(projected, within=20, interval=0.2)
    await desk.goto(stack.url("/dasbor"))
    await desk.get_by_role("button", name="Buat rekap sekarang").click()
    await expect(desk.get_by_role("button", name="Unduh rekap XLSX")).to_be_visible()

    await sign_in(desk, stack, Role.ANALIS, "Dewi")
    await desk.goto(stack.url("/dasbor"))
    web = desk.locator("#tabel-kanal tbody tr", has_text="Situs web")
    await expect(web.locator("td").first).to_have_text("1")
    await expect(desk.locator("#tabel-kanal thead")).to_contain_text(
        f"{MONTHS[now.month - 1]} {now.year}"
    )
    timeliness = desk.locator("#tabel-waktu tbody tr", has_text="Selesai ≤ 14 hari kerja")
    await expect(timeliness.locator("td")).to_have_text("1")
    async with desk.expect_download() as downloading:
        await desk.get_by_role("button", name="Unduh rekap XLSX").click()
    download = await downloading.value
    content = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    assert ("Situs web", 1, 0, 1) in [tuple(row) for row in sheet.iter_rows(values_only=True)]


async def test_officers_see_only_their_actions_and_forged_ones_are_refused(
    stack: Stack, desk: Page
) -> None:
    case_id, _ = await submitted_complaint(stack)
    await api_step(stack, case_id, "identification/escalate", Role.TIM_PENGADUAN, note="Naik.")
    waiting = await api_step(stack, case_id, "verification", Role.KABID, note="Lengkap.")
    assert waiting["current_step"] == "disposition"
    disposition = f"/workflow/v1/cases/{case_id}/disposition"
    forged = {"version": waiting["version"], "instruction": "Saya yang memutuskan."}

    for role in (Role.PETUGAS, Role.KABID, Role.TIM_PENGADUAN):
        await sign_in(desk, stack, role, "Uji")
        await open_case_page(desk, stack, case_id)
        await expect(desk.locator("#bukan-giliran")).to_contain_text("oleh Kepala Dinas")
        assert await action_forms(desk) == ["notes", "attachments"]
        complainant = desk.locator("#pengaduan")
        await expect(complainant.locator("blockquote")).to_contain_text("tiga minggu")
        answer = await stack.http.post(disposition, json=forged, headers=await bearer(stack, role))
        assert answer.status_code == 403, answer.text
    await screenshot(desk, "petugas-kasus-bukan-giliran")

    refused: list[str] = []
    desk.on("response", lambda r: refused.append(r.url) if r.status in (401, 403) else None)
    await sign_in(desk, stack, Role.ANALIS, "Analis")
    await desk.goto(stack.url("/petugas"))
    await expect(desk.locator("main[data-state=siap]")).to_be_visible()
    assert refused == []  # the worklist asked for no one's failed messages: not theirs to resend
    await open_case_page(desk, stack, case_id)
    await expect(desk.locator("#pesan")).to_contain_text("Anda tidak berwenang membuka kasus ini.")
    assert await action_forms(desk) == []
    analyst = await bearer(stack, Role.ANALIS)
    for path, body in (("disposition", forged), ("notes", {"text": "Catatan analis."})):
        answer = await stack.http.post(
            f"/workflow/v1/cases/{case_id}/{path}", json=body, headers=analyst
        )
        assert answer.status_code == 403, answer.text
    assert (await case_view(stack, case_id))["version"] == waiting["version"]

    hidden, _ = await submitted_complaint(stack, confidential=True)  # the access policy
    await sign_in(desk, stack, Role.PETUGAS, "Uji")
    await open_case_page(desk, stack, hidden)
    await expect(desk.locator("#pesan")).to_contain_text("Kasus tidak ditemukan.")


async def test_action_forms_refuse_bad_input_and_a_changed_case_is_reloaded(
    stack: Stack, desk: Page
) -> None:
    case_id, _ = await submitted_complaint(stack)
    await api_step(stack, case_id, "identification/escalate", Role.TIM_PENGADUAN, note="Naik.")
    seen = await api_step(stack, case_id, "verification", Role.KABID, note="Lengkap.")
    await sign_in(desk, stack, Role.KEPALA_DINAS, "Kepala")
    await open_case_page(desk, stack, case_id)
    form = desk.locator("form[data-action='disposition']")

    before = await stored_events(stack)
    await form.locator("button[type=submit]").click()
    await expect(form.locator("[data-field='instruction'] .galat")).to_have_text("Wajib diisi.")
    await expect(form.get_by_label("Isi disposisi")).to_have_attribute("aria-invalid", "true")
    assert await stored_events(stack) == before
    assert (await case_view(stack, case_id))["version"] == seen["version"]

    note = {"text": "Pemohon menelepon menanyakan perkembangan."}
    tim = await bearer(stack, Role.TIM_PENGADUAN)
    added = await stack.http.post(f"/workflow/v1/cases/{case_id}/notes", json=note, headers=tim)
    assert added.status_code == 200, added.text
    await form.get_by_label("Isi disposisi").fill("Tinjau ke lapangan.")
    await form.locator("button[type=submit]").click()
    await expect(desk.locator("#pesan")).to_contain_text("Kasus ini sudah berubah")
    await expect(desk.locator("#pesan li")).to_contain_text("Catatan — Tim Pengaduan")
    await expect(desk.locator("#kasus")).to_have_attribute("data-version", str(seen["version"] + 1))
    await expect(desk.locator("#linimasa li[data-event='NoteAdded']")).to_contain_text("menelepon")
    await expect(form.get_by_label("Isi disposisi")).to_have_value("Tinjau ke lapangan.")
    await screenshot(desk, "petugas-kasus-berubah")
    await take_action(desk, "disposition", {})

    await api_step(stack, case_id, "investigation", Role.TIM_PENGADUAN, summary="Ditinjau.")
    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina")
    await open_case_page(desk, stack, case_id)
    bap = desk.locator("form[data-action='bap']")
    await bap.get_by_label("Tanggal pemeriksaan").fill(datetime.now(WIB).date().isoformat())
    await bap.get_by_label("Tempat").fill("Kantor DPMPTSP")
    await bap.get_by_label("Temuan").fill("Berkas tertahan.")
    await bap.get_by_label("Kesimpulan").fill("Diproses ulang.")
    version, before = (await case_view(stack, case_id))["version"], await stored_events(stack)
    await bap.locator("button[type=submit]").click()
    await expect(bap.locator("[data-field='parties_present'] .galat")).to_have_text(
        "Terlalu sedikit (minimal 1)."
    )
    await expect(bap.locator(".kotak-galat")).to_contain_text("Periksa kembali")
    await screenshot(desk, "petugas-kasus-bap-galat")
    assert await stored_events(stack) == before
    assert (await case_view(stack, case_id))["version"] == version


async def submissions(stack: Stack) -> int:
    """Submissions in intake's store."""
    [row] = await stack.rows(
        "SELECT count(DISTINCT originator_id) AS n FROM intake.submissions_events"
    )
    count: int = row["n"]
    return count


def long_past_its_deadline() -> datetime:
    """The latest minute, within the days an officer may date back, whose case's working days
    ended at least a working day ago in the office's calendar (20 days back was no longer past
    it on a Sunday afternoon: a time after hours counts from the next morning)."""
    now, calendar, sop = datetime.now(WIB), WorkingCalendar(), CURRENT[Kind.COMPLAINT]
    for days in range(15, Settings().officer_backdate_days):
        back = (now - timedelta(days=days)).replace(second=0, microsecond=0)
        ended = calendar.add_working_days(back, sop.deadline_working_days)
        if calendar.add_working_days(ended, 1) < now:
            return back
    raise AssertionError("no day to date back to is past its deadline in this calendar")


async def test_the_record_page_refuses_bad_input_then_a_back_dated_record_is_overdue_first(
    stack: Stack, desk: Page
) -> None:
    _, fresh = await submitted_complaint(stack)
    await sign_in(desk, stack, Role.PETUGAS, "Ani")
    await desk.goto(stack.url("/petugas/catat"))
    await desk.get_by_label("Diterima melalui").select_option("counter")
    await desk.get_by_label("Isi pengaduan atau pertanyaan").fill("Pendek")
    await desk.get_by_label("Nomor telepon").fill("12ab")
    catat = desk.get_by_role("button", name="Catat", exact=True)
    await catat.click()
    await expect(desk.locator("[data-field='text'] .galat")).to_have_text(
        "Terlalu pendek (minimal 10 karakter)."
    )
    await expect(desk.locator("[data-field='contact.phone'] .galat")).to_have_text(
        "Nomor telepon tidak sah."
    )
    await screenshot(desk, "petugas-catat-galat")
    assert await submissions(stack) == 1

    await desk.get_by_label("Isi pengaduan atau pertanyaan").fill(LETTER)
    await desk.get_by_label("Nomor telepon").fill("031-3951234")
    tomorrow = datetime.now(WIB) + timedelta(days=1)
    await desk.get_by_label("Waktu diterima").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    await catat.click()
    await expect(desk.locator("[data-field='received_at'] .galat")).to_have_text(
        "Waktu diterima tidak boleh di masa depan."
    )
    await expect(desk.locator("[data-field='text'] .galat")).to_have_count(0)
    assert await submissions(stack) == 1

    back = long_past_its_deadline()
    await desk.get_by_label("Waktu diterima").fill(back.strftime("%Y-%m-%dT%H:%M"))
    await catat.click()
    await expect(desk.locator("#nomor-tiket")).to_be_visible()
    await screenshot(desk, "petugas-catat-tercatat")
    code = (await desk.locator("#nomor-tiket").inner_text()).strip()
    secret = (await desk.locator("#kunci-tanda-terima").inner_text()).strip()  # to be printed
    link = (await desk.locator("#tautan-pemohon").inner_text()).strip()
    assert link.endswith(f"/lacak?kode={code}#kunci={secret}")
    assert await submissions(stack) == 2
    view = await case_view(stack, await opened_case(stack, code))
    assert datetime.fromisoformat(view["received_at"]) == back
    assert view["channel"] == "counter"

    await sign_in(desk, stack, Role.TIM_PENGADUAN, "Rina")
    rows = desk.locator("#daftar tbody tr")

    async def both_listed_with_the_breach() -> bool:
        # the page as it is when drawn: the breach is the clock's event (its next scan after
        # the case opened), the step's lateness is read off the time
        await desk.goto(stack.url("/petugas"))
        await ready(desk, "#daftar-kerja")
        badges = rows.first.locator(".lencana.terlambat")
        return await rows.count() == 2 and await badges.count() == 2

    await eventually(both_listed_with_the_breach, within=30)
    await expect(rows.nth(0)).to_have_attribute("data-code", code)
    # its step is overdue and the 14 working days of the case are past
    await expect(rows.nth(0).locator(".lencana.terlambat")).to_have_text(
        ["Terlambat", "Lewat tenggat"]
    )
    await expect(rows.nth(0)).to_have_attribute("data-late", "true")
    await expect(rows.nth(1)).to_have_attribute("data-code", fresh)
    await expect(rows.nth(1).locator(".lencana.terlambat")).to_have_count(0)
    await screenshot(desk, "petugas-daftar-kerja-terlambat")

    await desk.goto(stack.url("/petugas/cari"))
    await ready(desk, "#cari")
    await expect(desk.locator("#kasus-ditemukan tbody tr")).to_have_count(2)
    await desk.get_by_label("Nomor tiket").fill("7K3M#")
    await desk.get_by_role("button", name="Cari").click()
    await expect(desk.locator("[data-field='code'] .galat")).to_have_text("Formatnya tidak sesuai.")
    await desk.get_by_label("Nomor tiket").fill("")
    await desk.get_by_label("Kanal").select_option("counter")
    await desk.get_by_role("button", name="Cari").click()
    await expect(desk.locator("#kasus-ditemukan tbody tr")).to_have_count(1)
    await expect(desk.locator("#kasus-ditemukan tbody tr")).to_have_attribute("data-code", code)
    assert desk.url.endswith("?channel=counter")
    await screenshot(desk, "petugas-cari")
    async with desk.expect_download() as downloading:
        await desk.get_by_role("button", name="Unduh CSV").click()
    download = await downloading.value
    assert download.suggested_filename == "kasus.csv"
    csv = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    assert code in csv
    assert fresh not in csv

    await desk.get_by_role("link", name=code).click()
    await ready(desk, "#kasus")
    await expect(desk.locator("#pengaduan blockquote")).to_contain_text("izin reklame")


async def test_a_consultation_walks_the_pojok_oss_steps_with_a_pause(
    stack: Stack, desk: Page
) -> None:
    question = {"text": "Bagaimana cara memperbarui NIB di OSS?", "anonymous": True}
    answer = await stack.http.post("/intake/v1/consultations", json=question)
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]

    await sign_in(desk, stack, Role.PETUGAS_OSS, "Dewi")
    await open_from_worklist(desk, stack, code)
    await expect(desk.locator("#pengaduan")).to_contain_text("anonim")
    await take_action(desk, "reception", {"Catatan": "Formulir diterima di Pojok OSS."})
    await desk.locator("details[data-action='information-request'] summary").click()
    await take_action(desk, "information-request", {"Alasan": "Mohon kirim NIB lama."})

    row = desk.locator(f"#daftar tr[data-code='{code}']")

    async def waiting() -> bool:
        await desk.goto(stack.url("/petugas"))
        await ready(desk, "#daftar-kerja")
        return await row.locator(".lencana.menunggu").count() == 1

    await eventually(waiting, within=15)
    await screenshot(desk, "petugas-daftar-kerja-menunggu")
    await row.get_by_role("link", name=code).click()
    await ready(desk, "#kasus")
    await take_action(
        desk, "information-received", {"Ringkasan informasi": "NIB lama 9120001234567."}
    )
    await take_action(desk, "bkpm/escalate", {"Catatan": "Akses OSS terkunci; ke BKPM."})
    await take_action(
        desk,
        "bkpm/answer",
        {"Nomor rujukan BKPM": "BKPM-88123", "Jawaban BKPM": "Hak akses dipulihkan."},
    )
    await take_action(
        desk,
        "facilitation",
        {
            "Ringkasan fasilitasi": "Pemohon dibantu masuk kembali ke OSS.",
            "Jawaban untuk pemohon": "Silakan masuk ke OSS; NIB dapat diperbarui.",
        },
    )
    await expect(desk.locator("#ringkasan .lencana.selesai")).to_have_text("Selesai")
    await screenshot(desk, "petugas-konsultasi-selesai")
    events = [
        await li.get_attribute("data-event") for li in await desk.locator("#linimasa > li").all()
    ]
    assert events == [
        "CaseOpened",
        "ConsultationFormAccepted",
        "InformationRequested",
        "InformationReceived",
        "EscalatedToBkpm",
        "BkpmAnswered",
        "FacilitationCompleted",
    ]


async def test_an_officer_on_a_phone_reads_the_worklist_and_the_case_without_scrolling_sideways(
    stack: Stack, phone: Page
) -> None:
    """A wide table (the worklist, the messages to the complainant) scrolls inside its box:
    the case page's column grew with it and the whole page scrolled sideways."""
    case_id, code = await submitted_complaint(stack)
    await api_step(
        stack,
        case_id,
        "information-request",
        Role.TIM_PENGADUAN,
        reason="Nomor berkas belum ada.",
        message="Mohon kirim nomor berkas permohonan dan foto tanda terima OSS Anda.",
    )
    await sign_in(phone, stack, Role.TIM_PENGADUAN, "Rina")
    await phone.goto(stack.url("/petugas"))
    await expect(phone.get_by_text(code)).to_be_visible()
    await fits(phone)
    await open_case_page(phone, stack, case_id)
    await expect(phone.locator("main")).to_contain_text("Nomor berkas belum ada.")
    await fits(phone)
