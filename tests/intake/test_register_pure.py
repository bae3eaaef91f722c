"""The register import's file side, without a database: dates, headers, encodings, mapping."""

from __future__ import annotations

import csv
import random
import re
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from services.intake.register import dates, reading
from services.intake.register.cli import main
from services.intake.register.dates import DateError, read_date
from services.intake.register.importer import read, run
from services.intake.register.labels import MappingError, load_mapping
from services.intake.register.reading import UnreadableRegister
from shared.settings import Settings
from shared.sop import Kind
from tests.intake.registers import clean, messy

WIB = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    "written",
    [
        "12/03/2022",
        "12-03-22",
        "12.03.2022",
        "2022-03-12",
        "12 Maret 2022",
        "Sabtu, 12 Maret 2022",
        "12 Mar 2022",
        "12 Mrt 2022",
        "20220312",
        20220312,  # typed as digits into a number cell
        20220312.0,
        "2022-03-12T03:00:00+08:00",  # an offset: that moment, in the office's zone
        44632,
        "44632",
        "44632,25",  # a decimal comma, as an Indonesian spreadsheet writes
        datetime(2022, 3, 12),
    ],
)
def test_one_day_written_every_way_is_that_day_in_office_time(written: object) -> None:
    found = read_date(written, WIB)
    assert found is not None
    assert found.at.date().isoformat() == "2022-03-12"
    assert found.at.tzinfo == WIB


def test_a_time_of_day_is_kept_and_a_missing_day_is_said() -> None:
    found = read_date("Jumat, 4 Februari 2022 pukul 14.05 WIB", WIB)
    assert found is not None
    assert (found.at, found.has_time) == (datetime(2022, 2, 4, 14, 5, tzinfo=WIB), True)
    month_only = read_date("Agustus 2021", WIB)
    assert month_only is not None
    assert month_only.day_missing
    assert read_date("  ", WIB) is None


@pytest.mark.parametrize("written", ["31/02/2022", "kemarin", "2022", "-", 7])
def test_what_is_no_date_says_so(written: object) -> None:
    with pytest.raises(DateError):
        read_date(written, WIB)


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "utf-8-sig"), (",", "utf-8"), (";", "cp1252"), ("\t", "utf-8")],
)
def test_a_csv_export_reads_whatever_its_separator_and_encoding(
    tmp_path: Path, delimiter: str, encoding: str
) -> None:
    register = messy(300, seed=5, cells=False)
    path = register.write_csv(tmp_path / "r.csv", delimiter=delimiter, encoding=encoding)
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert report.header_row == 3
    assert report.rejected_rows() == sorted(p.row for p in register.expected("reject"))
    assert report.valid == len(register.expected("import"))


def test_windows_1252_text_keeps_its_accents(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    text = "No;Tanggal;Uraian\n1;01/02/2022;Pelayanan café di lobi — mohon diperbaiki\n"
    path.write_bytes(text.encode("cp1252"))
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (1, 0)


def test_headers_of_another_name_are_mapped_by_option_or_file(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("Nomor Urut;Tgl Lapor;Apa yang dikeluhkan;Lewat\n1;01/02/2022;Izin lama;Fax\n")
    with pytest.raises(UnreadableRegister, match="tidak ditemukan"):
        run(Settings(), path, load_mapping(None, []), dry_run=True)
    mapping_file = tmp_path / "peta.toml"
    mapping_file.write_text('[columns]\nkanal = "Lewat"\n\n[channels]\n"Fax" = "letter"\n')
    options = ["tanggal=Tgl Lapor", "isi=Apa yang dikeluhkan"]
    report = run(Settings(), path, load_mapping(mapping_file, options), dry_run=True)
    assert report.valid == 1
    assert [issue.code for issue in report.issues] == ["status_missing"]  # no such columns
    assert report.columns == {
        "received_at": "Tgl Lapor",
        "text": "Apa yang dikeluhkan",
        "channel": "Lewat",
    }
    assert report.unmapped == ("Nomor Urut",)


@pytest.mark.parametrize("option", ["tanggal=Nope", "status=Nope"])
def test_a_column_named_for_a_field_is_that_column_or_the_file_is_refused(
    tmp_path: Path, option: str
) -> None:
    """A header named on the command line that the file lacks is an error, even where a
    default header would match the field: the office meant another column."""
    path = tmp_path / "r.csv"
    path.write_text("No;Tanggal;Uraian;Status\n1;01/02/2022;Izin lama belum terbit;Selesai\n")
    with pytest.raises(UnreadableRegister, match="Nope"):
        run(Settings(), path, load_mapping(None, [option]), dry_run=True)


def test_a_mapping_to_an_unknown_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError):
        load_mapping(None, ["warna=Kolom"])
    wrong = tmp_path / "peta.json"
    wrong.write_text('{"channels": {"Fax": "faksimili"}}')
    with pytest.raises(MappingError):
        load_mapping(wrong, [])


def test_the_report_says_each_row_and_sums_up(tmp_path: Path) -> None:
    path = clean(3).write_csv(tmp_path / "r.csv")
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    lines = report.lines()
    assert lines[0].startswith("Uji coba (tidak ada yang disimpan): 3 baris dibaca, 3 layak")
    assert lines[1].startswith("Berkas r.csv: judul kolom di baris 3")


def test_thousands_of_warnings_are_summed_up_first_and_written_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    register = messy(3000, quirk_share=0.85, seed=11)
    path = register.write_csv(tmp_path / "register.csv")
    planned = {(p.row, code) for p in register.rows for code in p.codes}
    per_code = Counter(code for _, code in planned)
    assert len(planned) > 2000

    monkeypatch.chdir(tmp_path)
    assert main([str(path), "--dry-run"]) == 1  # some rows are rejected
    printed = capsys.readouterr().out.splitlines()

    rejecting = {p_code for p in register.expected("reject") for p_code in p.codes}
    assert printed[0].startswith(f"Uji coba (tidak ada yang disimpan): {len(register.rows) - 3}")
    reasons = [line for line in printed if line.startswith("- ")]
    assert len(printed) == len(reasons) + 4  # summary, columns, kept columns, the file
    assert len(reasons) == len(per_code)
    levels = [line.startswith("- DITOLAK") for line in reasons]
    assert levels == sorted(levels, reverse=True)  # every rejection before any warning
    for line in reasons:
        code = line.split("(", 1)[1].split(")", 1)[0]
        assert f"), {per_code[code]} baris;" in line
        assert line.startswith("- DITOLAK") == (code in rejecting)
    full = tmp_path / "register.laporan.csv"
    assert printed[-1] == f"Laporan lengkap per baris: {full}"
    with full.open(encoding="utf-8-sig", newline="") as written:
        rows = list(csv.reader(written))
    assert rows[0] == ["Baris", "Kolom", "Tingkat", "Kode", "Keterangan"]
    assert {(int(row[0]), row[3]) for row in rows[1:]} == planned

    assert main([str(path), "--dry-run", "--report", "laporan.xlsx"]) == 1
    sheet = load_workbook(tmp_path / "laporan.xlsx").active
    assert sheet is not None
    assert {(row[0], row[3]) for row in sheet.iter_rows(min_row=2, values_only=True)} == planned


def test_a_closing_date_before_the_complaint_imports_the_complaint_with_a_warning(
    tmp_path: Path,
) -> None:
    register = messy(400, quirk_share=0.3, seed=5)
    impossible = [p for p in register.rows if "closed_before_received" in p.codes]
    assert impossible
    path = register.write_xlsx(tmp_path / "r.xlsx")
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert report.valid == len(register.expected("import"))
    assert set(report.rejected_rows()).isdisjoint(p.row for p in impossible)


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2022-03-31T20:00:00Z", "2022-04-01"),  # 03:00 WIB: the next month
        ("12 Peb 2022", "2022-02-12"),
        ("12 Agus 2022", "2022-08-12"),
        ("01/01/2000", "2000-01-01"),
    ],
)
def test_a_moment_with_its_offset_and_the_office_s_abbreviations_are_their_day(
    written: str, day: str
) -> None:
    found = read_date(written, WIB)
    assert found is not None
    assert found.at.date().isoformat() == day


def test_the_first_day_of_2000_in_the_office_s_calendar_is_imported(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("No;Tanggal;Uraian\n1;01/01/2000;Izin usaha belum selesai.\n")
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (1, 0)


def test_a_closing_date_in_the_future_closes_the_case_on_a_day_nobody_knows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal;Uraian;Status;Tanggal Selesai\n"
        "1;12/03/2022;Izin usaha belum selesai.;Selesai;15/03/2101\n"
    )
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (1, 0)
    assert "closed_future" in {issue.code for issue in report.issues}


def _rows(count: int, first: int = 1) -> str:
    return "".join(
        f"{n};12/03/2022;Izin usaha nomor {n} belum selesai.;Selesai\n"
        for n in range(first, first + count)
    )


def test_a_quote_left_open_refuses_the_file_and_names_its_row(tmp_path: Path) -> None:
    """An unclosed quote makes the csv module read the rest of the file as one cell: every
    later row would be lost inside one made-up complaint. The file is refused instead."""
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal;Uraian;Status\n"
        + _rows(1)
        + '2;13/03/2022;"Mohon segera diproses;Selesai\n'
        + _rows(40, first=3)
    )
    with pytest.raises(UnreadableRegister, match="baris 3: sebuah tanda kutip"):
        run(Settings(), path, load_mapping(None, []), dry_run=True)
    quoted = tmp_path / "q.csv"  # a text of several lines in quotes is a text
    quoted.write_text(
        "No;Tanggal;Uraian;Status\n"
        '1;12/03/2022;"Baris satu;\nbaris dua; dan\nbaris tiga";Selesai\n' + _rows(3, first=2)
    )
    assert run(Settings(), quoted, load_mapping(None, []), dry_run=True).valid == 4


def test_a_workbook_is_read_to_its_real_end_whatever_its_recorded_size(tmp_path: Path) -> None:
    """A workbook whose recorded dimension (`A1:D5`) is stale: every row is read (openpyxl's
    streaming reader stops at the recorded size)."""
    path = clean(10).write_xlsx(tmp_path / "r.xlsx")
    stale = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stale, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"<dimension [^>]*>", b"", data)
                data = data.replace(b"<sheetViews>", b'<dimension ref="A1:D5"/><sheetViews>')
            target.writestr(item, data)
    full = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert run(Settings(), stale, load_mapping(None, []), dry_run=True).valid == full.valid == 10


def test_the_shown_sheet_is_read_not_a_hidden_first_one(tmp_path: Path) -> None:
    path = clean(4).write_xlsx(tmp_path / "r.xlsx")
    book = load_workbook(path)
    hidden = book.create_sheet("Catatan", 0)
    hidden["A1"] = "bukan register"
    hidden.sheet_state = "hidden"
    book.active = 1
    book.save(path)
    assert run(Settings(), path, load_mapping(None, []), dry_run=True).valid == 4


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "Excel lama"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"PK\x03\x04" + b"\0" * 40, "bukan XLSX yang utuh"),
        (b"", "kosong"),
        (b"\xef\xbb\xbf\r\n", "kosong"),
        (
            b'<?xml version="1.0"?>\n'
            b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
            "XML",
        ),
        (b"<html><body><p>Tidak ada data.</p></body></html>", "tanpa tabel"),
    ],
    ids=["xls or password", "pdf", "broken zip", "empty", "a bom alone", "xml 2003", "no table"],
)
def test_a_file_that_is_no_register_is_named_for_what_it_is(
    tmp_path: Path, content: bytes, said: str
) -> None:
    path = tmp_path / "register.xlsx"
    path.write_bytes(content)
    with pytest.raises(UnreadableRegister, match=said):
        run(Settings(), path, load_mapping(None, []), dry_run=True)


def test_a_file_is_read_by_its_content_not_its_name(tmp_path: Path) -> None:
    csv_named_xlsx = clean(3).write_csv(tmp_path / "r.csv").rename(tmp_path / "csv.xlsx")
    xlsx_named_csv = clean(3).write_xlsx(tmp_path / "r.xlsx").rename(tmp_path / "xlsx.csv")
    for path in (csv_named_xlsx, xlsx_named_csv):
        assert run(Settings(), path, load_mapping(None, []), dry_run=True).valid == 3


def test_a_workbook_unpacking_past_the_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = clean(50).write_xlsx(tmp_path / "r.xlsx")
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(item.file_size for item in archive.infolist())
    monkeypatch.setattr(reading, "MAX_UNZIPPED_BYTES", unpacked - 1)
    with pytest.raises(UnreadableRegister, match="terlalu besar setelah dibuka"):
        run(Settings(), path, load_mapping(None, []), dry_run=True)


def test_unicode_text_and_a_stray_windows_byte_are_read(tmp_path: Path) -> None:
    """A spreadsheet's "Unicode text" (UTF-16, tabs) is read; one Windows-1252 byte in a UTF-8
    file garbles its own line only."""
    text = "No\tTanggal\tUraian\n1\t12/03/2022\tPelayanan — lambat sekali\n"
    utf16 = tmp_path / "r.txt"
    utf16.write_bytes(text.encode("utf-16"))  # with its BOM
    assert run(Settings(), utf16, load_mapping(None, []), dry_run=True).valid == 1
    mixed = tmp_path / "m.csv"
    mixed.write_bytes(
        "No;Tanggal;Uraian\n1;12/03/2022;Pelayanan — lambat\n".encode()
        + "2;13/03/2022;Caf\xe9 di lobi\n".encode("cp1252")
    )
    sheet = reading.read_sheet(mixed)
    assert [cells[2] for _, cells in sheet.records] == [
        "Uraian",
        "Pelayanan — lambat",
        "Café di lobi",
    ]


def test_a_header_repeated_on_each_printed_page_and_a_total_line_are_skipped(
    tmp_path: Path,
) -> None:
    """Page furniture is no complaint: skipped with a warning, not rejected (a clean register
    printed page by page exits 0)."""
    header = "No;Tanggal;Uraian;Status\n"
    path = tmp_path / "r.csv"
    path.write_text(header + _rows(3) + header + _rows(2, first=4) + "Jumlah;;5 pengaduan;\n")
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (5, 0)
    codes = Counter(issue.code for issue in report.issues)
    assert (codes["header_repeated"], codes["total_row"]) == (1, 1)
    assert main([str(path), "--dry-run", "--no-progress", "--report", str(tmp_path / "l.csv")]) == 0


def test_a_nik_typed_as_a_number_is_warned_of(tmp_path: Path) -> None:
    """A spreadsheet keeps 15 digits of a number: a 16-digit NIK typed as one is already cut."""
    path = clean(2).write_xlsx(tmp_path / "r.xlsx")
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    headers = [cell.value for cell in sheet[3]]
    sheet.cell(4, headers.index("NIK") + 1, 3525014101900001)  # kept as 3.52501410190000e15
    sheet.cell(5, headers.index("NIK") + 1, "3525014101900001")
    sheet.cell(5, headers.index("No. HP") + 1, 81234567890)  # 0812… typed as a number
    book.save(path)
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert report.valid == 2
    numbers = {(i.row, i.code) for i in report.issues if i.code.endswith("_as_number")}
    assert numbers == {(4, "nik_as_number"), (5, "phone_as_number")}


def test_a_register_on_another_sheet_is_pointed_to(tmp_path: Path) -> None:
    path = clean(2).write_xlsx(tmp_path / "r.xlsx")
    book = load_workbook(path)
    book.active.title = "Register 2022"  # type: ignore[union-attr]
    cover = book.create_sheet("Sampul", 0)
    cover["A1"] = "Buku register pengaduan"
    book.active = 0
    book.save(path)
    with pytest.raises(UnreadableRegister, match="lembar lain di berkas ini: Register 2022"):
        run(Settings(), path, load_mapping(None, []), dry_run=True)
    named = run(Settings(), path, load_mapping(None, []), dry_run=True, sheet="Register 2022")
    assert named.valid == 2


def test_a_workbook_saved_without_its_formulas_values_is_refused_naming_a_cell(
    tmp_path: Path,
) -> None:
    """A program that writes formulas without computing them (openpyxl is one) leaves every
    formula cell empty to a reader: its rows would be rejected for reasons not true. Once the
    workbook is computed (the value stored beside the formula), it is read."""
    path = clean(2).write_xlsx(tmp_path / "r.xlsx")
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    column = [cell.value for cell in sheet[3]].index("Tanggal Selesai") + 1
    sheet.cell(4, column, "=B4+3")
    book.save(path)
    with pytest.raises(UnreadableRegister, match="rumus yang nilainya tidak tersimpan"):
        run(Settings(), path, load_mapping(None, []), dry_run=True)
    computed = tmp_path / "computed.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(computed, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b"<f>B4+3</f><v />", b"<f>B4+3</f><v>44635</v>")
            target.writestr(item, data)
    assert run(Settings(), computed, load_mapping(None, []), dry_run=True).valid == 2


@pytest.mark.parametrize(
    ("upper", "lower", "columns"),
    [
        (
            ["No", "Tanggal", None, "Uraian Pengaduan", "Status"],
            [None, "Masuk", "Selesai", None, None],
            {"received_at": "Tanggal Masuk", "closed_at": "Tanggal Selesai", "status": "Status"},
        ),
        (
            ["No. Register", "Pengaduan", None, "Status"],
            [None, "Tanggal", "Uraian", None],
            {"register_ref": "No. Register", "received_at": "Tanggal", "status": "Status"},
        ),
    ],
    ids=["date over in and out", "a group over date and text"],
)
def test_a_header_on_two_rows_is_read_whole(
    tmp_path: Path, upper: list[Any], lower: list[Any], columns: dict[str, str]
) -> None:
    """*Tanggal* merged over *Masuk* and *Selesai*, *No* and *Status* merged down both rows:
    every column is found (the lower row alone lost No and Status, the upper the dates). The
    header printed again on the next page is skipped, both of its rows."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["BUKU REGISTER PENGADUAN 2022"])
    sheet.append([])
    sheet.append(upper)
    sheet.append(lower)
    day = upper.index("Tanggal") if "Tanggal" in upper else lower.index("Tanggal")
    text = len(upper) - 2
    for n in (1, 2):
        if n == 2:  # the next printed page
            sheet.append(upper)
            sheet.append(lower)
        row: list[Any] = [str(n)] + [None] * (len(upper) - 1)
        row[day], row[text], row[-1] = (
            datetime(2022, 3, 10 + n),
            f"Izin {n} belum terbit.",
            "Selesai",
        )
        if "Selesai" in lower:
            row[lower.index("Selesai")] = datetime(2022, 3, 20)
        sheet.append(row)
    for top in (3, 6):  # a label over both rows is merged down them, on each page
        for index, label in enumerate(upper):
            if label and not lower[index]:
                letter = "ABCDEFGH"[index]
                sheet.merge_cells(f"{letter}{top}:{letter}{top + 1}")
    path = tmp_path / "r.xlsx"
    book.save(path)
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.header_row, report.valid, report.rejected) == (4, 2, 0), report.issues
    assert report.columns.items() >= columns.items()
    assert [i.row for i in report.issues if i.code == "header_repeated"] == [6, 7]


def test_a_column_of_dates_written_month_first_is_read_so(tmp_path: Path) -> None:
    """Exported by a system set to American English: 03/25/2022 shows the column is month
    first, so 03/12/2022 is 12 March (read day first it was 3 December, silently)."""
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal;Uraian;Status\n"
        "1;03/25/2022;Izin satu belum terbit.;Proses\n"
        "2;03/12/2022;Izin dua belum terbit.;Proses\n"
    )
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert report.valid == 2
    assert [i.row for i in report.issues if i.code == "month_first"] == [report.header_row]
    _, rows = read(Settings(), path, load_mapping(None, []))
    assert [row.received_at.date().isoformat() for row in rows] == ["2022-03-25", "2022-03-12"]
    day_first = tmp_path / "d.csv"
    day_first.write_text(path.read_text().replace("03/25/2022", "25/03/2022"))
    _, rows = read(Settings(), day_first, load_mapping(None, []))
    assert [row.received_at.month for row in rows] == [3, 12]


def test_a_month_first_date_in_a_day_first_column_is_refused_not_turned_round(
    tmp_path: Path,
) -> None:
    """25/01/2023 shows the column is day first: 01/13/2023 then names a 13th month (dateutil
    read it 13 January, silently)."""
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal;Uraian\n"
        "1;25/01/2023;Izin satu belum terbit.\n"
        "2;01/13/2023;Izin dua belum terbit.\n"
        "3;12-13-2022;Izin tiga belum terbit.\n"
    )
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (1, 2), report.issues
    refused = [i.message for i in report.issues if i.code == "date_unreadable"]
    assert len(refused) == 2, refused
    assert all("bulan 13" in message for message in refused), refused
    with pytest.raises(DateError, match="bulan 13"):
        read_date("01/13/2023", WIB)


@pytest.mark.parametrize("written", ["20220231", "20230229"])
def test_an_impossible_compact_date_is_refused_as_a_date(written: str) -> None:
    with pytest.raises(DateError):
        read_date(written, WIB)


@pytest.mark.parametrize(
    ("written", "at"),
    [
        ("12-03-2022 10:00 GMT+7", datetime(2022, 3, 12, 10, 0, tzinfo=WIB)),  # a name: ignored
        ("12/03/2022 10:00 +2500", datetime(2022, 3, 12, 10, 0, tzinfo=WIB)),  # no offset
        ("2022-03-12 10:00:00+0700", datetime(2022, 3, 12, 10, 0, tzinfo=WIB)),
    ],
)
def test_only_an_offset_written_as_machines_write_it_moves_the_time(
    written: str, at: datetime
) -> None:
    found = read_date(written, WIB)
    assert found is not None
    assert found.at == at


def test_a_complaint_that_starts_with_jumlah_is_a_complaint_and_blank_rows_are_counted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal;Uraian;Status\n"
        + _rows(1)
        + ";;;\n;;;\n"
        + "17;;Jumlah bantuan BLT yang saya terima dipotong Rp 200.000;Proses\n"
        + '2;12/03/2022;"Keluhan:\njalan rusak; lampu mati; got mampet\n'
        + 'jalan rusak; lampu mati; got mampet\njalan rusak; lampu mati; got mampet";Proses\n'
    )
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected, report.blank) == (2, 1, 2)
    assert [i.code for i in report.issues if i.rejected] == ["date_missing"]


def test_a_day_number_in_a_workbook_of_the_1904_date_system_is_its_own_day(
    tmp_path: Path,
) -> None:
    """Old Excel for Mac counts days from 1904-01-01: its 43170 is 12 March 2022 (read as
    counted from 1899-12-30, 11 March 2018), and a date cell stays its day."""
    path = clean(2).write_xlsx(tmp_path / "r.xlsx")
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet["B4"] = 43170  # the received date of the first row, as a plain number
    sheet["B5"] = datetime(2022, 3, 14, 9, 30)
    book.epoch = CALENDAR_MAC_1904
    book.save(path)

    report, rows = read(Settings(), path, load_mapping(None, []))
    received = {row.row: row.received_at.astimezone(WIB) for row in rows}

    assert report.valid == 2
    assert received[4].date() == date(2022, 3, 12)
    assert received[5] == datetime(2022, 3, 14, 9, 30, tzinfo=WIB)


def test_a_register_and_its_csv_export_are_the_same_rows(tmp_path: Path) -> None:
    """Saved again as CSV (dates and numbers written as text), a register already imported
    is the same register: no row reads as changed since."""
    register = messy(300, seed=21)
    mapping = load_mapping(None, [])

    def fingerprints(path: Path) -> dict[str, str]:
        _, rows = read(Settings(), path, mapping)
        return {row.identity: row.fingerprint for row in rows}

    kept = fingerprints(register.write_xlsx(tmp_path / "register.xlsx"))
    exported = fingerprints(register.write_csv(tmp_path / "register.csv"))
    assert len(kept) > 200
    assert exported == kept


def test_a_row_whose_content_changed_has_another_fingerprint(tmp_path: Path) -> None:
    register = clean(3, seed=5)
    mapping = load_mapping(None, [])
    _, before = read(Settings(), register.write_csv(tmp_path / "before.csv"), mapping)
    register.rows[1].cells[12] = "Ditolak"  # the office corrected its status
    _, after = read(Settings(), register.write_csv(tmp_path / "after.csv"), mapping)
    changed = {a.row for a, b in zip(before, after, strict=True) if a.fingerprint != b.fingerprint}
    assert changed == {register.rows[1].row}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("pukul 10.15, 5 Januari 2024", datetime(2024, 1, 5, 10, 15)),
        ("Pkl. 09.00 WIB, 12 Maret 2023", datetime(2023, 3, 12, 9, 0)),
        ("jam 09.00 tgl 5 Januari 2024", datetime(2024, 1, 5, 9, 0)),
        ("10.15 WIB 5 Jan 2024", datetime(2024, 1, 5, 10, 15)),
        ("5 Januari 2024 10.15", datetime(2024, 1, 5, 10, 15)),
        ("12.03.2022", datetime(2022, 3, 12)),
        ("12.03.2022 08.30", datetime(2022, 3, 12, 8, 30)),
        ("10.03.22", datetime(2022, 3, 10)),  # a date with a two-digit year, not a clock
        ("10.03.22 14.30", datetime(2022, 3, 10, 14, 30)),
        ("10.03.22 14.30.15", datetime(2022, 3, 10, 14, 30, 15)),
    ],
)
def test_a_time_written_with_dots_before_or_after_the_date_is_that_time(
    written: str, expected: datetime
) -> None:
    found = read_date(written, WIB)
    assert found is not None
    assert found.at == expected.replace(tzinfo=WIB)


@pytest.mark.parametrize("written", ["5 Januari 2024 2023", "2023 5 Januari 2024"])
def test_a_date_that_names_two_years_is_no_date(written: str) -> None:
    with pytest.raises(DateError):  # dateutil reads one as the year, the other as 20:23
        read_date(written, WIB)


def test_a_formula_error_in_the_text_is_a_rejected_row_not_a_complaint(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.create_sheet("Register", 0)
    sheet.append(["No.", "Tanggal Pengaduan", "Uraian", "Nama Pelapor"])
    sheet.append([1, datetime(2024, 3, 4), "Izin reklame belum terbit.", "Budi"])
    sheet.append([2, datetime(2024, 3, 5), "#N/A", "Siti"])
    sheet.append([3, datetime(2024, 3, 6), "#REF!", "Ani"])
    assert sheet["C3"].data_type == "e"  # stored as the workbook's error, as Excel saves it
    path = tmp_path / "galat.xlsx"
    book.save(path)
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (1, 2)
    codes = {issue.row: issue.code for issue in report.issues if issue.rejected}
    assert codes == {3: "text_error_value", 4: "text_error_value"}


def test_a_day_merged_over_its_complaints_dates_each_of_them(tmp_path: Path) -> None:
    """An office writes the day once, merged down over that day's complaints (and the status
    over a group): each row takes it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["No", "Tanggal", "Uraian Pengaduan", "Status"])
    sheet.append([1, datetime(2022, 3, 14), "Izin usaha belum terbit.", "Selesai"])
    sheet.append([2, None, "NIB tidak bisa diunduh.", None])
    sheet.append([3, None, "Antrean terlalu lama.", None])
    sheet.append([4, datetime(2022, 3, 15), "Petugas meminta berkas tambahan.", "Proses"])
    sheet.merge_cells("B2:B4")
    sheet.merge_cells("D2:D4")
    path = tmp_path / "merged.xlsx"
    book.save(path)

    report, rows = read(Settings(), path, load_mapping(None, []))
    found = {row.text: row for row in rows}
    assert (report.valid, report.rejected) == (4, 0), report.issues
    march = {text: row.received_at.astimezone(WIB).day for text, row in found.items()}
    assert march == {
        "Izin usaha belum terbit.": 14,
        "NIB tidak bisa diunduh.": 14,
        "Antrean terlalu lama.": 14,
        "Petugas meminta berkas tambahan.": 15,
    }
    assert found["Antrean terlalu lama."].outcome == found["Izin usaha belum terbit."].outcome


@pytest.mark.parametrize("whole", ["A", "C"], ids=["number merged", "text merged"])
def test_a_complaint_written_over_merged_rows_is_one_complaint(tmp_path: Path, whole: str) -> None:
    """Its number, day, complainant and text merged down over three rows, so that each step
    of its follow-up has a line: one complaint, whose follow-up reads line by line (not three
    complaints, two of them without a number)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["No", "Tanggal", "Uraian Pengaduan", "Nama Pelapor", "Tindak Lanjut"])
    sheet.append([1, datetime(2022, 3, 14), "Izin usaha belum terbit.", "Budi", "Dicek"])
    sheet.append([None, None, None, None, "Dihubungi"])
    sheet.append([None, None, None, None, "Selesai"])
    sheet.append([2, datetime(2022, 3, 15), "Antrean terlalu lama.", "Siti", "Dicek"])
    for column in ("A", "B", "C", "D") if whole == "A" else ("B", "C", "D"):
        if column != "A" or whole == "A":
            sheet.merge_cells(f"{column}2:{column}4")
    path = tmp_path / "merged.xlsx"
    book.save(path)

    report, rows = read(Settings(), path, load_mapping(None, []))
    found = list(rows)
    assert (report.valid, report.rejected) == (2, 0), report.issues
    assert [row.text for row in found] == ["Izin usaha belum terbit.", "Antrean terlalu lama."]
    assert found[0].extra == {"Tindak Lanjut": "Dicek\nDihubungi\nSelesai"}
    assert [i.row for i in report.issues if i.code == "continued_row"] == [3, 4]


def test_month_headings_and_the_signature_block_at_the_foot_are_skipped(tmp_path: Path) -> None:
    """A register kept month by month in one sheet, signed at its foot: the headings and the
    signature's lines are no complaints (skipped with a warning; a clean register exits 0).
    A complaint without its date is still rejected, whatever its words."""
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal;Uraian;Status;Keterangan\n"
        "JANUARI 2023;;;;\n"
        "1;05/01/2023;Izin usaha belum terbit.;Selesai;\n"
        "Bulan Februari;;;;\n"
        "2;06/02/2023;Kepala bidang tidak ada di kantor.;Proses;\n"
        ";;;;\n"
        ";;;;Gresik, 28 Februari 2023\n"
        ";;;Mengetahui,;Petugas Pencatat,\n"
        ";;;Kepala Dinas Penanaman Modal;\n"
        ";;;Dr. H. Ahmad Subekti, M.Si;Siti Rahma\n"
        ";;;NIP. 19700101 199503 1 001;NIP. 19880202 201001 2 002\n"
    )
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (2, 0), report.issues
    codes = Counter(issue.code for issue in report.issues)
    assert (codes["month_heading"], codes["signature"]) == (2, 5)
    assert report.warned_rows == 2  # the two complaints (no channel); not the skipped lines
    assert main([str(path), "--dry-run", "--no-progress", "--report", str(tmp_path / "l.csv")]) == 0

    left = tmp_path / "left.csv"  # a kind's heading; the left signatory under the date column
    left.write_text(
        "No;Tanggal;Uraian;Status\n"
        "PENGADUAN;;;\n"
        "1;05/01/2023;Izin usaha belum terbit.;Selesai\n"
        "KONSULTASI;;;\n"
        "2;06/01/2023;Cara daftar NIB?;Proses\n"
        ";Mengetahui,;;Gresik, 31 Januari 2023\n"
        ";Kepala Dinas;;Petugas\n"
        ";Dr. H. Ahmad Subekti;;Siti Rahma\n"
        ";NIP. 19700101 199503 1 001;;\n"
    )
    report = run(Settings(), left, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (2, 0), report.issues
    codes = Counter(issue.code for issue in report.issues)
    assert (codes["month_heading"], codes["signature"]) == (2, 4)

    undated = tmp_path / "undated.csv"
    undated.write_text(
        "No;Tanggal;Pelapor;Uraian;Status\n1;05/01/2023;;Izin usaha belum terbit.;Selesai\n"
        "2;;;Kepala loket meminta uang tambahan.;\n"
        ";;Kepala Desa Sukamaju;Jalan desa rusak sejak izin galian terbit.;\n"
        "4;06/01/2023;;Antrean terlalu lama.;Proses\n"
    )
    report = run(Settings(), undated, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (2, 2)
    assert [i.code for i in report.issues if i.rejected] == ["date_missing", "date_missing"]


EXPORTED = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Laporan</title></head><body>
<table><tr><td>Dicetak dari SIMPEL</td></tr></table>
<table border="1">
<tr><th colspan="4">REKAP PENGADUAN MARET 2022</th></tr>
<tr><th rowspan="2">No</th><th rowspan="2">Tanggal</th><th colspan="2">Pelapor</th>
    <th rowspan="2">Uraian Pengaduan</th><th rowspan="2">Status</th></tr>
<tr><th>Nama</th><th>No. HP</th></tr>
<tr><td>1</td><td rowspan="2">14/03/2022</td><td>Budi &amp; Ani</td><td>081234567890</td>
    <td>Izin usaha<br>belum terbit.</td><td>Selesai</td></tr>
<tr><td>2</td><td>Siti</td><td>&nbsp;</td><td>NIB tidak bisa diunduh.</td><td>Proses</td></tr>
<tr><td>3</td><td>15/03/2022</td><td>Rudi</td><td></td><td>Antrean terlalu lama.</td><td></td></tr>
</table></body></html>"""


def test_a_web_page_saved_as_xls_is_read_by_its_table(tmp_path: Path) -> None:
    """Many applications' "Excel" export is an HTML table named .xls: it is read as a
    spreadsheet would show it (a header of two rows, a day spanning two complaints, entities
    and line breaks in the text)."""
    path = tmp_path / "laporan.xls"
    path.write_text(EXPORTED, encoding="utf-8")
    report, rows = read(Settings(), path, load_mapping(None, []))
    found = list(rows)
    assert report.header_row == 3
    assert report.columns.items() >= {"name": "Nama", "phone": "No. HP", "status": "Status"}.items()
    assert [(row.text, row.received_at.astimezone(WIB).day) for row in found] == [
        ("Izin usaha\nbelum terbit.", 14),
        ("NIB tidak bisa diunduh.", 14),
        ("Antrean terlalu lama.", 15),
    ]
    assert [row.contact.name if row.contact else None for row in found] == [
        "Budi & Ani",
        "Siti",
        "Rudi",
    ]
    assert report.rejected == 0


def test_a_web_page_of_one_table_per_month_is_read_whole(tmp_path: Path) -> None:
    """An export with a table per month under the same header: every month's rows, in order;
    a table of the page's layout (a printing note) is not the register."""
    february = EXPORTED.replace("MARET", "FEBRUARI").replace("/03/", "/02/")
    for said, other in (("belum", "masih belum"), ("tidak bisa", "gagal"), ("terlalu", "sangat")):
        february = february.replace(said, other)
    page = EXPORTED.replace(
        "</body>", february.split("<body>", 1)[1].split("</body>")[0] + "</body>"
    )
    path = tmp_path / "laporan.xls"
    path.write_text(page, encoding="utf-8")
    report, rows = read(Settings(), path, load_mapping(None, []))
    found = list(rows)
    assert report.rejected == 0, report.issues
    assert [row.received_at.astimezone(WIB).month for row in found] == [3, 3, 3, 2, 2, 2]
    assert {i.code for i in report.issues} >= {"header_repeated"}


def test_a_page_of_odd_comments_and_spans_is_read_in_time(tmp_path: Path) -> None:
    """Crafted pages that once took minutes: hundreds of empty comments before anything else,
    a cell spanning a thousand columns and rows above hundreds of empty rows."""
    comments = tmp_path / "comments.xls"
    comments.write_bytes(b"<!---->" * 580 + b"No;Tanggal;Uraian\n")
    spans = tmp_path / "spans.xls"
    spans.write_text(
        '<table><tr><td colspan="999">x</td><td rowspan="1000">y</td></tr>'
        + "<tr></tr>" * 400
        + "<tr><td>No</td><td>Tanggal</td><td>Uraian</td></tr></table>"
    )
    with ThreadPoolExecutor(1) as pool:
        for path in (comments, spans):
            read_in_time = pool.submit(reading.read_sheet, path)
            assert read_in_time.result(timeout=20).records


@pytest.mark.parametrize(
    ("merges", "numbers"),
    [
        (("B2:B3", "C2:C3"), ["1", "2"]),  # a day and a shared text, each its own number
        (("A2:A3",), ["1", None]),  # a number over two rows, each with its own day and text
    ],
    ids=["shared text", "shared number"],
)
def test_rows_with_their_own_number_or_day_stay_complaints_of_their_own(
    tmp_path: Path, merges: tuple[str, ...], numbers: list[str | None]
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["No", "Tanggal", "Uraian Pengaduan", "Nama Pelapor"])
    sheet.append([1, datetime(2024, 2, 1), "Jalan rusak di depan kantor desa.", "Ratna"])
    second: list[Any] = (
        [2, None, None, "Slamet"]
        if "C2:C3" in merges
        else [None, datetime(2024, 2, 2), "Lampu jalan mati sejak seminggu.", "Slamet"]
    )
    sheet.append(second)
    for merge in merges:
        sheet.merge_cells(merge)
    path = tmp_path / "merged.xlsx"
    book.save(path)

    report, rows = read(Settings(), path, load_mapping(None, []))
    found = list(rows)
    assert (report.valid, report.rejected) == (2, 0), report.issues
    assert [row.register_ref for row in found] == numbers
    assert [row.contact.name if row.contact else None for row in found] == ["Ratna", "Slamet"]
    assert "continued_row" not in {issue.code for issue in report.issues}


def test_a_header_of_two_rows_with_two_groups_is_read_column_by_column(tmp_path: Path) -> None:
    """*Tanggal* over *Masuk* and *Selesai*, *Pelapor* over *Nama* and *No. HP*: the day
    columns are read with their group, the person's without (neither reading alone names them
    all)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["No", "Tanggal", None, "Pelapor", None, "Uraian Pengaduan", "Status"])
    sheet.append([None, "Masuk", "Selesai", "Nama", "No. HP", None, None])
    sheet.append(
        [
            1,
            datetime(2024, 1, 5),
            datetime(2024, 1, 9),
            "Budi",
            "081234567890",
            "Izin lama.",
            "Selesai",
        ]
    )
    path = tmp_path / "r.xlsx"
    book.save(path)
    report, rows = read(Settings(), path, load_mapping(None, []))
    [row] = list(rows)
    assert report.header_row == 2
    assert report.columns.keys() >= {"received_at", "closed_at", "name", "phone", "status"}
    assert row.closed_at is not None
    assert row.contact is not None
    assert (row.contact.name, row.contact.phone) == ("Budi", "081234567890")


def test_the_other_sheets_of_a_register_kept_a_sheet_a_month_are_named(tmp_path: Path) -> None:
    book = Workbook()
    for number, month in enumerate(("Januari", "Februari", "Maret"), start=1):
        sheet = book.active if number == 1 else book.create_sheet()
        assert sheet is not None
        sheet.title = month
        sheet.append(["No", "Tanggal", "Uraian Pengaduan"])
        sheet.append([1, datetime(2024, number, 5), f"Izin belum terbit ({month})."])
    rekap = book.create_sheet("Rekap")
    rekap.append(["Bulan", "Jumlah"])
    path = tmp_path / "register.xlsx"
    book.save(path)
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    [said] = [issue.message for issue in report.issues if issue.code == "other_sheets"]
    assert "'Februari', 'Maret'" in said
    assert "Rekap" not in said
    chosen = run(Settings(), path, load_mapping(None, []), sheet="Maret", dry_run=True)
    assert "other_sheets" not in {issue.code for issue in chosen.issues}


def test_a_number_written_with_leading_zeros_is_the_same_number(tmp_path: Path) -> None:
    """A workbook whose No. column shows 001, saved as CSV, writes "001": the same row as
    the workbook's 1 (the same identity, the same fingerprint)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["No", "Tanggal", "Uraian Pengaduan"])
    sheet.append([1, "05/01/2024", "Izin belum terbit."])
    sheet["A2"].number_format = "000"
    workbook = tmp_path / "register.xlsx"
    book.save(workbook)
    exported = tmp_path / "register.csv"
    exported.write_text("No;Tanggal;Uraian Pengaduan\n001;05/01/2024;Izin belum terbit.\n")
    [from_book] = list(read(Settings(), workbook, load_mapping(None, []))[1])
    [from_csv] = list(read(Settings(), exported, load_mapping(None, []))[1])
    assert from_csv.register_ref == from_book.register_ref == "1"
    assert (from_csv.case_id, from_csv.fingerprint) == (from_book.case_id, from_book.fingerprint)


@pytest.mark.parametrize(
    ("before", "encoding"),
    [
        ('<?xml version="1.0" encoding="utf-8"?>\n', "utf-8"),
        ("<style>td { mso-number-format: '@'; }</style>\n", "utf-8"),
        ("<title>Laporan Pengaduan</title>\n", "utf-8"),
        ("", "utf-16"),
    ],
    ids=["xhtml", "styles first", "title first", "utf-16"],
)
def test_a_web_page_is_known_however_its_export_begins(
    tmp_path: Path, before: str, encoding: str
) -> None:
    page = before + EXPORTED.split("\n", 1)[1] if before else EXPORTED
    path = tmp_path / "laporan.xls"
    path.write_text(page, encoding=encoding)
    report, rows = read(Settings(), path, load_mapping(None, []))
    assert len(list(rows)) == 3
    assert report.rejected == 0


def test_a_register_kept_per_kind_says_its_kind_in_its_text_header(tmp_path: Path) -> None:
    """An office keeping complaints and consultations in two registers, each numbered from 1,
    without a Jenis column: Isi Konsultasi makes the second one consultations (they were read
    as complaints, then taken for corrections of the first register's rows)."""
    complaints, consultations = tmp_path / "pengaduan.csv", tmp_path / "konsultasi.csv"
    complaints.write_text("No;Tanggal;Uraian Pengaduan\n1;05/01/2023;Izin PBG belum terbit.\n")
    consultations.write_text("No;Tanggal;Isi Konsultasi\n1;05/01/2023;Cara mendaftar NIB?\n")
    complained = list(read(Settings(), complaints, load_mapping(None, []))[1])
    asked = list(read(Settings(), consultations, load_mapping(None, []))[1])
    assert [row.kind for row in complained] == [Kind.COMPLAINT]
    assert [row.kind for row in asked] == [Kind.CONSULTATION]
    assert asked[0].another_than(complained[0].gist)


def test_of_two_text_columns_the_better_named_is_the_text(tmp_path: Path) -> None:
    """Masalah (a one-word subject) to the left of Uraian Pengaduan: the full text is the
    complaint's (the subject was taken, the text kept aside)."""
    path = tmp_path / "r.csv"
    path.write_text(
        "No.;Tanggal;Kecamatan;Masalah;Uraian Pengaduan\n"
        "1;05/01/2023;Kebomas;IMB;Permohonan IMB saya belum diproses sejak Desember.\n"
    )
    _, rows = read(Settings(), path, load_mapping(None, []))
    assert [row.text for row in rows] == ["Permohonan IMB saya belum diproses sejak Desember."]


def test_a_total_with_its_count_under_the_date_and_the_notes_at_the_foot_are_skipped(
    tmp_path: Path,
) -> None:
    """JUMLAH with the count in the date column, then the register's notes (Keterangan, the
    legend of its status letters, Sumber): no complaints, skipped (rejected before: exit 1)."""
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal;Uraian;Status\n"
        "1;05/01/2023;Izin usaha belum terbit.;S\n"
        "2;06/01/2023;Antrean terlalu lama.;P\n"
        "JUMLAH;2;;\n"
        ";;;\n"
        "Keterangan:;;;\n"
        "S = Selesai, P = Proses;;;\n"
        "Sumber: Sekretariat;;;\n"
    )
    report = run(Settings(), path, load_mapping(None, []), dry_run=True)
    assert (report.valid, report.rejected) == (2, 0), report.issues
    codes = Counter(issue.code for issue in report.issues)
    assert (codes["total_row"], codes["signature"]) == (1, 3)


def test_the_mark_that_keeps_a_number_as_text_is_not_part_of_it(tmp_path: Path) -> None:
    """'081234567890 in a CSV: the apostrophe a spreadsheet user types so the leading 0 stays
    is no part of the phone or the NIK (it was stored with it, without a warning)."""
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal;Uraian;Nama;No HP;NIK\n"
        "1;05/01/2023;Izin usaha belum terbit.;Budi;'081234567890;'3525011201850003\n"
    )
    _, rows = read(Settings(), path, load_mapping(None, []))
    [row] = list(rows)
    assert row.contact is not None
    assert (row.contact.phone, row.contact.nik) == ("081234567890", "3525011201850003")


def test_of_two_date_columns_the_first_is_the_complaints(tmp_path: Path) -> None:
    """Tanggal Pengaduan, then a follow-up's Tanggal further right: the received date is the
    first (the generic name further right was taken, and rows without a follow-up had none)."""
    path = tmp_path / "r.csv"
    path.write_text(
        "No;Tanggal Pengaduan;Isi Pengaduan;Tindak Lanjut;Tanggal\n"
        "1;05/01/2023;Izin usaha belum terbit.;;\n"
    )
    _, rows = read(Settings(), path, load_mapping(None, []))
    assert [row.received_at.date().isoformat() for row in rows] == ["2023-01-05"]


def test_the_plain_forms_are_read_as_dateutil_reads_them() -> None:
    """The forms most registers write are read without dateutil (twenty times faster); each
    must come out as dateutil reads it, and any it cannot have is left to dateutil."""

    rng = random.Random(7)
    texts = []
    for _ in range(3000):
        day, month, year = rng.randint(0, 32), rng.randint(0, 13), rng.choice([1999, 2022, 2024])
        clock = rng.choice(["", " 08:05", " 23:59:59", " 0:00", " 24:00", " 10:61", "T07:30"])
        separator = rng.choice("/-.")
        padded = rng.choice([f"{day:02d}", str(day)]), rng.choice([f"{month:02d}", str(month)])
        texts.append(f"{padded[0]}{separator}{padded[1]}{separator}{year}{clock}")
        texts.append(f"{year}-{month:02d}-{day:02d}{clock}")
    plain = {text: dates._plain(text) for text in texts}
    read = [text for text, found in plain.items() if found is not None]
    assert len(read) > len(texts) / 3  # most are dates: the plain reading is taken
    assert any(found[1] for found in plain.values() if found)  # with a time, too
    for text in read:
        assert plain[text] == dates._by_dateutil(text), text
    for text in ("31/02/2022", "12/13/2022", "2022-02-30", "12/03/2022 24:00"):
        assert dates._plain(text) is None  # no such day or time: dateutil's to refuse or read
