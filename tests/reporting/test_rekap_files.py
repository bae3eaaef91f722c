"""The multi-year rekap as the office publishes it: per channel and month, the office's name,
a source line; the same in XLSX and PDF."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from services.reporting import printing
from services.reporting.api import year_table
from services.reporting.letter import Office
from services.reporting.rekap_files import ChannelYears, years_letter
from shared import agencies
from shared.agencies import Agency, Letterhead
from shared.channels import Channel
from shared.db import connect
from shared.settings import Settings
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.reporting.files import pdf_text, sheet_rows
from tests.samples import complaint_received

WIB = ZoneInfo("Asia/Jakarta")
A, B = "dinas-a", "dinas-b"
MONTHS = [datetime(2024, 3, 4, 10, tzinfo=WIB), datetime(2025, 7, 8, 10, tzinfo=WIB)]


async def published(desk: Desk) -> None:
    await desk.bus.publish(
        complaint_received(received_at=MONTHS[0], channel=Channel.WEB),
        complaint_received(received_at=MONTHS[0], channel=Channel.LETTER),
        complaint_received(received_at=MONTHS[1], channel=Channel.WEB),
    )

    async def counted() -> bool:
        answer = await desk.http.get("/reporting/v1/rekap/years?from=2023&to=2025")
        return bool(answer.json()["total"] == 3)

    assert await eventually(counted, within=10)


async def test_the_multi_year_table_per_channel_and_month_with_office_and_source(
    desk: Desk, tmp_path: Path
) -> None:
    await published(desk)
    query = "from=2023&to=2025&kind=complaint"
    xlsx = await desk.http.get(f"/reporting/v1/rekap/years.xlsx?{query}")
    assert xlsx.status_code == 200, xlsx.text
    rows = sheet_rows(xlsx.content)
    cells = [value for row in rows for value in row if value is not None]
    assert "REKAPITULASI JUMLAH PENGADUAN TH. 2023 S.D. 2025" in cells
    assert desk.settings.office_name in cells
    assert ["Tahun 2024"] in rows
    assert ["Bulan", "Situs web", "Surat", "Jumlah"] in rows
    assert ["Maret", 1, 1, 2] in rows  # 2024: a web complaint and a letter
    assert ["Juli", 1, 0, 1] in rows  # 2025
    assert ["Bulan", "2023", "2024", "2025", "Jumlah"] in rows
    assert ["Jumlah", 0, 2, 1, 3] in rows
    assert any(str(value).startswith("Sumber: data pengaduan") for value in cells)

    pdf = await desk.http.get(f"/reporting/v1/rekap/years.pdf?{query}")
    assert pdf.headers["content-type"] == "application/pdf"
    joined = await pdf_text(pdf.content, tmp_path)
    assert "REKAPITULASI JUMLAH PENGADUAN TH. 2023 S.D. 2025" in joined
    assert desk.settings.office_name.upper() in joined
    assert "Maret 1 1 2" in joined
    assert "Jumlah 0 2 1 3" in joined
    assert "Sumber: data pengaduan" in joined
    assert "WIB" in joined

    per_channel = await desk.http.get(f"/reporting/v1/rekap/years/channels?{query}")
    assert per_channel.json()["counts"]["2024"]["3"] == {"web": 1, "letter": 1}


async def test_another_agencys_table_carries_its_own_letterhead_and_counts(desk: Desk) -> None:
    conn = await connect(desk.settings)
    try:
        head = Letterhead(name="Dinas Kesehatan", government="PEMERINTAH PROVINSI JAWA TIMUR")
        await agencies.save(conn, Agency(id="dinkes", name="Dinas Kesehatan", letterhead=head))
    finally:
        await conn.close()
    await published(desk)  # the home agency's three
    await desk.bus.publish(complaint_received(received_at=MONTHS[0], agency="dinkes"))
    query = "from=2023&to=2025&kind=complaint&instansi=dinkes"

    async def counted() -> bool:
        answer = await desk.http.get(f"/reporting/v1/rekap/years?{query}")
        return bool(answer.json()["total"] == 1)

    assert await eventually(counted, within=10)
    rows = sheet_rows((await desk.http.get(f"/reporting/v1/rekap/years.xlsx?{query}")).content)
    cells = [value for row in rows for value in row if value is not None]
    assert "DINAS KESEHATAN" in cells or "Dinas Kesehatan" in cells
    assert desk.settings.office_name not in cells
    assert ["Maret", 1, 1] in rows  # its one web complaint, not the home agency's two
    csv = await desk.http.get(f"/reporting/v1/rekap/years.csv?{query}")
    assert "Jumlah,0,1,0,1" in csv.text.splitlines()


def test_the_provinces_table_sums_its_agencies_and_names_each_one() -> None:
    counts = {(A, 2025, 3): 2, (B, 2025, 3): 1, (B, 2025, 7): 4}
    province = year_table("*", 2025, 2025, None, counts)
    months = {str(m): {"web": 0} for m in range(1, 13)} | {"3": {"web": 3}, "7": {"web": 4}}
    per_channel = ChannelYears(
        years=[2025],
        channels=["web"],
        channel_labels=["Situs web"],
        month_labels=[],
        counts={"2025": months},
    )
    names = {A: "Dinas A", B: "Dinas B"}
    letter = years_letter(
        Office.of(Settings()), per_channel, None, datetime.now(WIB), province, names
    )
    rows = sheet_rows(printing.workbook(letter))
    assert ["Instansi", "2025", "Jumlah"] in rows
    assert ["Dinas A", 2, 2] in rows
    assert ["Dinas B", 5, 5] in rows
    assert ["Jumlah", 7, 7] in rows
