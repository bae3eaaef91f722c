"""The monthly recap (SOP step 7): scheduled for last month, on demand for any; files open."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from pypdf import PdfReader

from shared.channels import Channel
from shared.sop import Role
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import complaint_received

WIB = ZoneInfo("Asia/Jakarta")
OCTOBER = datetime(2025, 10, 14, 10, 0, tzinfo=WIB)


async def test_last_months_recap_is_produced_on_its_own(desk: Desk) -> None:
    today = datetime.now(WIB)
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)

    async def produced() -> bool:
        return (await desk.http.get(f"/reporting/v1/recaps/{year}/{month}")).status_code == 200

    assert await eventually(produced, within=15)


async def test_a_months_recap_on_demand_opens_as_xlsx_and_pdf_with_the_totals(desk: Desk) -> None:
    cases = [
        complaint_received(received_at=OCTOBER, channel=Channel.WEB),
        complaint_received(received_at=OCTOBER, channel=Channel.WEB),
        complaint_received(received_at=OCTOBER, channel=Channel.WHATSAPP),
    ]
    await desk.bus.publish(*cases)

    async def counted() -> bool:
        answer = await desk.http.get("/reporting/v1/rekap?year=2025&month=10")
        return bool(answer.json()["total"] == 3)

    assert await eventually(counted, within=10)
    officer = desk.headers(Role.TIM_PENGADUAN)
    made = await desk.http.post("/reporting/v1/recaps/2025/10", headers=officer)
    assert made.status_code == 200, made.text
    xlsx = await desk.http.get("/reporting/v1/recaps/2025/10/rekap.xlsx", headers=officer)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2, values_only=False)]
    assert rows[0] == ["Kanal", "Pengaduan", "Konsultasi", "Jumlah"]
    assert ["Situs web", 2, 0, 2] in rows
    assert ["WhatsApp", 1, 0, 1] in rows
    assert rows[-1] == ["Jumlah", 3, 0, 3]
    assert len(getattr(sheet, "_charts", [])) == 1  # openpyxl keeps the charts there
    pdf = await desk.http.get("/reporting/v1/recaps/2025/10/rekap.pdf", headers=officer)
    page = PdfReader(io.BytesIO(pdf.content)).pages[0]
    text = " ".join(page.extract_text().split())
    assert "Rekapitulasi Penanganan Pengaduan — Oktober 2025" in text
    assert "Jumlah 3 0 3" in text
    assert "Jumlah per kanal" in text  # the chart's caption, drawn with its bars
    contents = page.get_contents()
    assert contents is not None
    assert b" re" in contents.get_data()  # rectangles: the bars
    refused = await desk.http.get("/reporting/v1/recaps/2025/10/rekap.pdf")
    assert refused.status_code == 401
