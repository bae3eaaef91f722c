"""Leadership, analysts and operators in the browser: the dashboard, the multi-year rekap,
downloads that open, the live event stream and the dead letters."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from playwright.async_api import Page, expect

from shared.parking import Parking
from shared.sop import Role
from tests.bus import park
from tests.polling import eventually
from tests.samples import complaint_received
from tests.web.conftest import Stack, demo_sign_in, screenshot, sign_in

# An image's width once it has loaded (0 if it failed to).
LOADED_WIDTH = """img => img.complete && img.naturalWidth ? img.naturalWidth : new Promise(
    done => { img.onload = () => done(img.naturalWidth); img.onerror = () => done(0); })"""
COMPLAINT = {"text": "Izin usaha saya belum selesai setelah tiga minggu.", "category": "biaya"}


def this_month(stack: Stack) -> tuple[int, int]:
    now = datetime.now(ZoneInfo(stack.settings.timezone))
    return now.year, now.month


async def closed_on_time(stack: Stack) -> str:
    """A web complaint the complaints team resolved at once (on time); its tracking code."""
    code: str = (await stack.http.post("/intake/v1/complaints", json=COMPLAINT)).json()[
        "tracking_code"
    ]
    desk = {"Authorization": f"Bearer {await stack.token(Role.TIM_PENGADUAN)}"}

    async def opened() -> dict[str, Any] | None:
        answer = await stack.http.get(f"/reporting/v1/cases?code={code}", headers=desk)
        rows: list[dict[str, Any]] = answer.json() if answer.status_code == 200 else []
        return rows[0] if rows else None

    case = await eventually(opened, within=20, interval=0.2)
    assert case is not None

    async def in_workflow() -> dict[str, Any] | None:  # reporting may know it first
        answer = await stack.http.get(f"/workflow/v1/cases/{case['case_id']}", headers=desk)
        return answer.json() if answer.status_code == 200 else None

    view = await eventually(in_workflow, within=20, interval=0.2)
    assert view is not None
    answer = await stack.http.post(
        f"/workflow/v1/cases/{case['case_id']}/identification/resolve",
        json={"version": view["version"], "answer": "Izin Anda sudah terbit hari ini."},
        headers=desk,
    )
    assert answer.status_code == 200, answer.text
    return code


async def test_the_dashboard_shows_a_closed_case_and_the_analyst_downloads_the_recap(
    stack: Stack, desk: Page
) -> None:
    code = await closed_on_time(stack)
    year, month = this_month(stack)

    async def counted() -> bool:
        board = (await stack.http.get(f"/reporting/v1/dashboard?year={year}&month={month}")).json()
        return bool(board["timeliness"]["on_time"] == 1)

    assert await eventually(counted, within=20, interval=0.2)
    producer = {"Authorization": f"Bearer {await stack.token(Role.TIM_PENGADUAN)}"}
    produced = await stack.http.post(f"/reporting/v1/recaps/{year}/{month}", headers=producer)
    assert produced.status_code == 200, produced.text

    await sign_in(desk, stack, Role.ANALIS, "Dewi")
    await desk.goto(stack.url("/dasbor"))
    channels = desk.locator("#tabel-kanal tbody tr")
    await expect(channels).to_have_count(1)
    await expect(channels.first).to_contain_text("Situs web")
    await expect(channels.first.locator("td").first).to_have_text("1")
    await expect(desk.locator("[data-angka=tepat-waktu]")).to_contain_text("100%")
    await expect(desk.locator("[data-angka=tepat-waktu]")).to_contain_text("1 tepat waktu")
    await expect(desk.locator("#tabel-waktu")).to_contain_text("Selesai ≤ 14 hari kerja")
    for chart in ("channels", "categories", "status", "compliance", "skm", "trend"):
        loaded = await desk.locator(f"#grafik-{chart}").evaluate(LOADED_WIDTH)
        assert loaded > 0, chart
        shown = await desk.locator(f"#grafik-{chart}").evaluate("img => img.clientWidth")
        assert shown == loaded, chart  # drawn at its own size: its 12 px labels stay 12 px
    await expect(desk.locator("#tabel-kategori")).to_contain_text("Biaya / tarif layanan")
    await expect(desk.locator("#tabel-skm tbody tr")).to_have_count(9)
    await screenshot(desk, "dasbor")

    # Every count leads to its cases: the on-time count lists the case closed on time.
    await desk.get_by_title("Lihat daftar kasus: Selesai ≤ 14 hari kerja").first.click()
    await expect(desk.locator("#tabel-daftar tbody tr")).to_have_count(1)
    await expect(desk.locator("#tabel-daftar tbody")).to_contain_text(code)
    await expect(desk.locator("#tabel-daftar tbody")).to_contain_text("Biaya / tarif layanan")
    await desk.get_by_title(
        "Lihat daftar kasus: Belum selesai, melewati 14 hari kerja"
    ).last.click()
    await expect(desk.locator("#status-daftar")).to_have_text("0 kasus.")

    async with desk.expect_download() as waiting:
        await desk.get_by_role("button", name="Unduh rekap XLSX").click()
    book = load_workbook(io.BytesIO(await _content(await waiting.value)))
    rows = [tuple(row) for row in book.active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert ("Situs web", 1, 0, 1) in rows

    async with desk.expect_download() as waiting:
        await desk.locator(".unduh[data-tabel=channels]").get_by_role("link", name="XLSX").click()
    table = load_workbook(io.BytesIO(await _content(await waiting.value)))
    assert ("Situs web", 1, 0) in [tuple(r) for r in table.active.iter_rows(values_only=True)]  # type: ignore[union-attr]

    await desk.goto(stack.url("/rekap"))
    await desk.get_by_label("Dari tahun").fill(str(year))
    await desk.get_by_label("Sampai tahun").fill(str(year))
    await desk.get_by_role("button", name="Tampilkan").click()
    row = desk.locator("#tabel-tahun tbody tr").nth(month - 1)
    await expect(row.locator("td").first).to_have_text("1")
    per_channel = desk.locator(f"#tabel-kanal table[data-tahun='{year}']")
    await expect(per_channel.locator("thead")).to_contain_text("Situs web")
    await expect(per_channel.locator("tbody tr").nth(month - 1).locator("td").first).to_have_text(
        "1"
    )
    await screenshot(desk, "rekap-tahunan")
    async with desk.expect_download() as waiting:
        await desk.locator("#unduh").get_by_role("link", name="XLSX").click()
    years = load_workbook(io.BytesIO(await _content(await waiting.value)))
    assert years.active is not None

    await desk.get_by_label("Dari tahun").fill(str(year))
    await desk.get_by_label("Sampai tahun").fill(str(year - 3))
    await desk.get_by_role("button", name="Tampilkan").click()
    error = desk.locator("[data-field=to] .galat")
    await expect(error).to_have_text("Tahun akhir tidak boleh sebelum tahun awal.")
    await expect(desk.get_by_label("Sampai tahun")).to_have_attribute("aria-invalid", "true")
    await desk.get_by_label("Dari tahun").fill("")
    await desk.get_by_role("button", name="Tampilkan").click()
    await expect(desk.locator("[data-field=from] .galat")).to_have_text("Wajib diisi.")
    await screenshot(desk, "rekap-galat")


async def _content(download: Any) -> bytes:
    path = await download.path()
    return await asyncio.to_thread(path.read_bytes)


async def test_operators_watch_events_live_and_requeue_a_dead_letter(
    stack: Stack, desk: Page
) -> None:
    await sign_in(desk, stack, Role.ADMIN, "Operator")
    await desk.goto(stack.url("/operasi"))
    await expect(desk.locator("#status-aliran")).to_contain_text("Tersambung")
    await expect(desk.locator("#kotak-gagal")).to_contain_text("Tidak ada pesan gagal")
    await stack.http.post("/intake/v1/complaints", json=COMPLAINT)
    events = desk.locator("#peristiwa")
    await expect(events).to_contain_text("ComplaintReceived")
    await expect(events).to_contain_text("CaseOpened")

    now = datetime.now(UTC)
    failed = Parking("p-1", "p-1", 10, now - timedelta(seconds=3), now, "RuntimeError: rusak")
    await park(stack.settings, complaint_received(), "reporting", failed)
    await desk.get_by_role("button", name="Muat ulang").click()
    letters = desk.locator("#gagal tr")
    await expect(letters).to_have_count(1)
    await expect(letters.first).to_contain_text("reporting")
    await expect(letters.first).to_contain_text("RuntimeError: rusak")
    await expect(letters.first.locator("td.angka")).to_have_text("10")
    await screenshot(desk, "operasi")
    await letters.first.get_by_role("button", name="Kirim ulang").click()
    await expect(desk.locator("#kotak-gagal")).to_contain_text("1 pesan dikirim ulang")
    await expect(letters).to_have_count(0)


async def test_the_operations_page_is_for_officers_only(stack: Stack, desk: Page) -> None:
    missing = await desk.goto(stack.url("/tidak-ada"))
    assert missing is not None
    assert missing.status == 404
    await expect(desk.get_by_role("heading", level=1)).to_have_text("Halaman tidak ditemukan")
    await desk.goto(stack.url("/operasi"))
    await desk.wait_for_url("**/petugas/masuk?lanjut=%2Foperasi")
    await demo_sign_in(desk, Role.TIM_PENGADUAN, "Rina")
    await expect(desk).to_have_url(stack.url("/operasi"))
    await expect(desk.locator("#kotak-gagal")).to_contain_text(
        "Hanya administrator yang dapat mengelola pesan gagal."
    )
