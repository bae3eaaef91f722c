"""Exports never carry a live formula: text typed by someone stays text in CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from openpyxl import load_workbook

from services.reporting.case_search import ANSWER_COLUMN
from services.reporting.exports import csv_value, formula_like, to_csv, to_xlsx
from shared.events import ComplaintReceived, Envelope, seal
from shared.sop import Kind, Role
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import answered_directly, complaint_received

NOW = datetime.now(UTC).replace(microsecond=0)  # a spreadsheet keeps milliseconds at best
ATTACKS = ('=HYPERLINK("http://evil","klik")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1")
AS_XML_READS = [text.replace("\r", "\n") for text in ATTACKS]  # XML reads a CR as a LF
HARMLESS = ("Izin Anda sudah terbit.", "-", "-12", "+62", "3,5", "", "a=b", " =1")


def test_formula_like_text_is_recognised_and_plain_text_is_not() -> None:
    assert all(formula_like(text) for text in ATTACKS)
    assert not any(formula_like(text) for text in HARMLESS)


def test_a_csv_cell_quotes_formulas_and_leaves_numbers_and_dates() -> None:
    assert [csv_value(text) for text in ATTACKS] == ["'" + text for text in ATTACKS]
    assert [csv_value(text) for text in HARMLESS] == list(HARMLESS)
    assert [csv_value(v) for v in (-5, -2.5, 0, None, NOW)] == [-5, -2.5, 0, "", NOW]


def test_an_xlsx_keeps_text_as_text_and_numbers_and_dates_as_such() -> None:
    book = to_xlsx("=Judul", ["=kolom", "angka", "tanggal"], [[t, -5, NOW] for t in ATTACKS])
    sheet = load_workbook(io.BytesIO(book)).active
    assert sheet is not None
    assert (sheet["A1"].value, sheet["A2"].value) == ("=Judul", "=kolom")
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [row[0] for row in rows] == AS_XML_READS  # the words as written, only inert
    assert {row[1] for row in rows} == {-5}
    assert {row[2] for row in rows} == {NOW.replace(tzinfo=None)}
    assert all(sheet.cell(row=r, column=1).quotePrefix for r in range(3, 3 + len(ATTACKS)))


def test_an_xlsx_takes_control_characters_and_error_like_text() -> None:
    book = to_xlsx("t", ["a"], [["baris\x0bsatu\x01"], ["#N/A"]])
    sheet = load_workbook(io.BytesIO(book)).active
    assert sheet is not None
    assert sheet["A3"].value == "baris\ufffdsatu\ufffd"
    assert (sheet["A4"].value, sheet["A4"].data_type) == ("#N/A", "s")


def test_a_csv_file_quotes_every_formula_cell() -> None:
    content = to_csv(["=h"], [[text] for text in ATTACKS]).decode().lstrip("\ufeff")
    cells = [row[0] for row in csv.reader(io.StringIO(content, newline=""))]
    assert cells == ["'=h", *("'" + text for text in ATTACKS)]


def _case(agency: str, answer: str) -> list[Envelope]:
    case_id = uuid4()
    data = ComplaintReceived(
        case_id=case_id,
        tracking_code=complaint_received().data.model_dump()["tracking_code"],
        kind=Kind.COMPLAINT,
        channel="whatsapp",
        category=answer,  # intake checks categories; reporting must not trust the wire
        received_at=NOW,
    )
    received = seal(data, subject=case_id, version=1, time=NOW, agency=agency)
    return answered_directly(received, answer, at=NOW)


async def test_downloaded_exports_hold_no_formula(desk: Desk) -> None:
    for answer in ATTACKS:
        await desk.bus.publish(*_case(desk.settings.agency, answer))

    async def counted() -> bool:
        return bool((await desk.http.get("/reporting/v1/rekap")).json()["total"] == len(ATTACKS))

    assert await eventually(counted, within=15)
    officer = desk.headers(Role.TIM_PENGADUAN)
    for path, column in (("cases", ANSWER_COLUMN[1]), ("rekap", "Kategori")):
        query = "?group_by=category" if path == "rekap" else ""
        got = await desk.http.get(f"/reporting/v1/{path}.csv{query}", headers=officer)
        assert got.status_code == 200, got.text
        rows = list(csv.DictReader(io.StringIO(got.text.lstrip("\ufeff"), newline="")))
        assert sorted(row[column] for row in rows) == sorted("'" + text for text in ATTACKS)
        got = await desk.http.get(f"/reporting/v1/{path}.xlsx{query}", headers=officer)
        assert got.status_code == 200, got.text
        _assert_inert(got.content, column)


def _assert_inert(content: bytes, column: str) -> None:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    header: list[Any] = [cell.value for cell in sheet[2]]
    written = [row[header.index(column)] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert sorted(written) == sorted(AS_XML_READS)  # type: ignore[type-var]
