"""The monthly recap (SOP step 7): scheduled for last month, on demand for any; files open."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.reporting.letter import ROMAN
from services.reporting.recaps import previous_month
from shared import agencies
from shared.agencies import Agency, Letterhead
from shared.channels import Channel
from shared.db import connect
from shared.events import ComplaintReceived, Envelope, seal
from shared.settings import Settings
from shared.sop import Role
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.reporting.files import pdf_text, sheet_rows
from tests.samples import complaint_received

WIB = ZoneInfo("Asia/Jakarta")
OCTOBER = datetime(2025, 10, 14, 10, 0, tzinfo=WIB)
HEAD, NIP = "Dr. Hj. Siti Aminah, S.Sos., M.Si.", "197305121998032004"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test's settings with the office's head of office, as a deployment sets them."""
    office = {"office_head_name": HEAD, "office_head_nip": NIP}
    return settings.model_copy(update=office | {"recap_check_seconds": 0.3})


async def test_last_months_recap_is_produced_on_its_own(desk: Desk) -> None:
    today = datetime.now(WIB)
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)

    async def produced() -> bool:
        return (await desk.http.get(f"/reporting/v1/recaps/{year}/{month}")).status_code == 200

    assert await eventually(produced, within=15)


def categorised(envelope: Envelope, category: str) -> Envelope:
    """The same submission, filed under a category."""
    data = envelope.data.model_copy(update={"category": category})
    return seal(
        data, subject=envelope.subject, version=1, time=envelope.time, agency=envelope.agency
    )


def code_of(envelope: Envelope) -> str:
    """The tracking code a submission was given."""
    assert isinstance(envelope.data, ComplaintReceived)
    return envelope.data.tracking_code


async def test_the_recap_is_a_letter_to_sign_and_its_totals_are_the_rekaps(
    desk: Desk, tmp_path: Path
) -> None:
    cases = [
        categorised(complaint_received(received_at=OCTOBER, channel=Channel.WEB), "pungli"),
        complaint_received(received_at=OCTOBER, channel=Channel.WEB),
        complaint_received(received_at=OCTOBER, channel=Channel.WHATSAPP),
    ]
    await desk.bus.publish(*cases)

    async def counted() -> bool:
        answer = await desk.http.get("/reporting/v1/rekap?year=2025&month=10")
        return bool(answer.json()["total"] == 3)

    assert await eventually(counted, within=10)
    rekap = (await desk.http.get("/reporting/v1/rekap?year=2025&month=10&group_by=channel")).json()
    per_channel = {row["channel"]: row["count"] for row in rekap["rows"]}
    officer = desk.headers(Role.TIM_PENGADUAN)
    made = await desk.http.post("/reporting/v1/recaps/2025/10", headers=officer)
    assert made.status_code == 200, made.text
    assert made.json()["number"] == "500.16/10/437.76/2025"

    pdf = await desk.http.get("/reporting/v1/recaps/2025/10/rekap.pdf", headers=officer)
    text = await pdf_text(pdf.content, tmp_path)
    office = desk.settings.office_name
    assert office.upper() in text
    assert desk.settings.office_address in text
    assert "Nomor: 500.16/10/437.76/2025" in text
    assert "Periode: 1 Oktober 2025 s.d. 31 Oktober 2025" in text
    assert f"Situs web {per_channel['web']} 0 {per_channel['web']}" in text
    assert f"WhatsApp {per_channel['whatsapp']} 0 {per_channel['whatsapp']}" in text
    assert f"Jumlah {rekap['total']} 0 {rekap['total']}" in text
    assert "Pungutan liar / gratifikasi 1 0 1" in text  # the table per category
    assert "Ketepatan waktu dihitung dari" in text  # the note on what timeliness counts
    for envelope in cases:
        assert code_of(envelope) in text  # the month's cases, by code
    assert f"{HEAD} NIP. {NIP}" in text  # the signature block
    assert "WIB" in text
    assert "UTC" not in text
    assert desk.settings.agency not in text

    xlsx = await desk.http.get("/reporting/v1/recaps/2025/10/rekap.xlsx", headers=officer)
    rows = sheet_rows(xlsx.content)
    cells = [value for row in rows for value in row if value is not None]
    assert office.upper() in cells
    assert ["Kanal", "Pengaduan", "Konsultasi", "Jumlah"] in rows
    assert ["Situs web", per_channel["web"], 0, per_channel["web"]] in rows
    assert ["WhatsApp", per_channel["whatsapp"], 0, per_channel["whatsapp"]] in rows
    assert ["Jumlah", rekap["total"], 0, rekap["total"]] in rows
    assert ["Pungutan liar / gratifikasi", 1, 0, 1] in rows
    assert HEAD in cells
    assert f"NIP. {NIP}" in cells
    assert {code_of(envelope) for envelope in cases} <= set(cells)
    assert not any(desk.settings.agency in str(value) for value in cells)


async def test_a_recap_made_before_late_entries_is_out_of_date_and_made_again(
    desk: Desk, tmp_path: Path
) -> None:
    await desk.bus.publish(complaint_received(received_at=OCTOBER, channel=Channel.WEB))

    async def counted(total: int) -> bool:
        answer = await desk.http.get("/reporting/v1/rekap?year=2025&month=10")
        return bool(answer.json()["total"] == total)

    assert await eventually(lambda: counted(1), within=10)
    officer = desk.headers(Role.TIM_PENGADUAN)
    first = (await desk.http.post("/reporting/v1/recaps/2025/10", headers=officer)).json()
    info = (await desk.http.get("/reporting/v1/recaps/2025/10")).json()
    assert (info["outdated"], info["revision"]) == (False, 0)

    await desk.bus.publish(complaint_received(received_at=OCTOBER, channel=Channel.LETTER))
    assert await eventually(lambda: counted(2), within=10)
    info = (await desk.http.get("/reporting/v1/recaps/2025/10")).json()
    assert info["outdated"] is True  # the letter recorded late changed a published month

    again = (await desk.http.post("/reporting/v1/recaps/2025/10", headers=officer)).json()
    assert again["revision"] == 1
    assert again["first_produced_at"] == first["produced_at"]
    info = (await desk.http.get("/reporting/v1/recaps/2025/10")).json()
    assert (info["outdated"], info["complaints"]) == (False, 2)
    pdf = await desk.http.get("/reporting/v1/recaps/2025/10/rekap.pdf", headers=officer)
    text = await pdf_text(pdf.content, tmp_path)
    assert "DIPERBARUI — menggantikan rekap yang diterbitkan" in text
    assert "Surat 1 0 1" in text


async def test_a_months_recap_needs_an_officer_to_download(desk: Desk) -> None:
    officer = desk.headers(Role.TIM_PENGADUAN)
    assert (await desk.http.post("/reporting/v1/recaps/2025/10", headers=officer)).is_success
    refused = await desk.http.get("/reporting/v1/recaps/2025/10/rekap.pdf")
    assert refused.status_code == 401


async def test_the_schedule_produces_again_a_published_month_that_late_entries_changed(
    desk: Desk, tmp_path: Path
) -> None:
    year, month = previous_month(datetime.now(WIB).date())
    base = f"/reporting/v1/recaps/{year}/{month}"
    during = datetime(year, month, 10, 10, tzinfo=WIB)
    await desk.bus.publish(complaint_received(received_at=during, channel=Channel.WEB))

    async def produced_with(complaints: int) -> dict[str, Any] | None:
        answer = await desk.http.get(base)
        info: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
        return info if info.get("complaints") == complaints and not info["outdated"] else None

    first = await eventually(lambda: produced_with(1), within=15)
    assert first is not None
    await desk.bus.publish(complaint_received(received_at=during, channel=Channel.LETTER))
    again = await eventually(lambda: produced_with(2), within=15)
    assert again is not None
    assert again["revision"] > first["revision"]
    assert again["first_produced_at"] == first["first_produced_at"]
    officer = desk.headers(Role.ANALIS)
    pdf = await desk.http.get(f"{base}/rekap.pdf", headers=officer)
    text = await pdf_text(pdf.content, tmp_path)
    assert "DIPERBARUI — menggantikan rekap yang diterbitkan" in text
    assert "Surat 1 0 1" in text


async def test_each_agency_has_its_own_months_recap_with_its_letterhead(
    desk: Desk, tmp_path: Path
) -> None:
    conn = await connect(desk.settings)
    try:
        head = Letterhead(
            name="Dinas Kesehatan",
            head_name="dr. Budi Santoso",
            number_pattern="440/{roman}/Dinkes/{year}",
        )
        await agencies.save(conn, Agency(id="dinkes", name="Dinas Kesehatan", letterhead=head))
    finally:
        await conn.close()
    year, month = previous_month(datetime.now(WIB).date())
    during = datetime(year, month, 10, 10, tzinfo=WIB)
    await desk.bus.publish(
        complaint_received(received_at=during),
        complaint_received(received_at=during, agency="dinkes"),
        complaint_received(received_at=during, agency="dinkes"),
    )
    base = f"/reporting/v1/recaps/{year}/{month}"

    async def produced(query: str, complaints: int) -> bool:
        answer = await desk.http.get(base + query)
        return answer.status_code == 200 and answer.json()["complaints"] == complaints

    assert await eventually(lambda: produced("?instansi=dinkes", 2), within=15)
    assert await eventually(lambda: produced("", 1), within=15)
    # Each says its own agency's number and files (the home agency's were said for both).
    theirs_info = (await desk.http.get(f"{base}?instansi=dinkes")).json()
    ours_info = (await desk.http.get(base)).json()
    roman = ROMAN[month - 1]
    assert theirs_info["number"] == f"440/{roman}/Dinkes/{year}"
    assert ours_info["number"] == desk.settings.recap_number_pattern.format(
        year=year, month=f"{month:02d}", roman=roman
    )
    assert theirs_info["pdf_url"] == f"{base}/rekap.pdf?instansi=dinkes"
    assert ours_info["xlsx_url"] == f"{base}/rekap.xlsx?instansi={desk.settings.agency}"
    officer = desk.headers(Role.ANALIS)
    theirs = await desk.http.get(f"{base}/rekap.pdf?instansi=dinkes", headers=officer)
    assert theirs.status_code == 403  # not the officer's agency
    ours = await desk.http.get(f"{base}/rekap.pdf", headers=officer)
    text = await pdf_text(ours.content, tmp_path)
    assert "DINAS KESEHATAN" not in text
    assert desk.settings.office_name.upper() in text


async def test_the_recap_gives_a_confidential_case_no_date(desk: Desk) -> None:
    """The published list shows of a confidential case what public tracking shows: its code
    and status, not the day it came in (nor its channel and category)."""
    plain = complaint_received(received_at=OCTOBER)
    secret = complaint_received(received_at=OCTOBER.replace(day=2))
    data = secret.data.model_copy(update={"confidential": True})
    secret = seal(data, subject=secret.subject, version=1, time=secret.time, agency=secret.agency)
    later = complaint_received(received_at=OCTOBER.replace(day=20))
    await desk.bus.publish(plain, secret, later)

    async def counted() -> bool:
        answer = await desk.http.get("/reporting/v1/rekap?year=2025&month=10")
        return bool(answer.json()["total"] == 3)

    assert await eventually(counted, within=10)
    officer = desk.headers(Role.TIM_PENGADUAN)
    made = await desk.http.post("/reporting/v1/recaps/2025/10", headers=officer)
    assert made.status_code == 200, made.text
    xlsx = await desk.http.get("/reporting/v1/recaps/2025/10/rekap.xlsx", headers=officer)
    listed = [row for row in sheet_rows(xlsx.content) if len(row) > 5 and row[0] != "No."]
    rows = {row[1]: row for row in listed}
    assert [row[1] for row in listed][-1] == code_of(secret)  # last, not between its neighbours
    assert rows[code_of(plain)][2:5] == ["14-10-2025", "Situs web", "Belum dikategorikan"]
    assert rows[code_of(secret)][2:5] == ["-", "-", "-"]
