"""Reading a register file: the rows of an XLSX sheet or a CSV file, and its header row.

CSV: `;`, `,` or tab separated, UTF-8 with or without BOM, else Windows-1252. A row number is
the spreadsheet's: the first record is row 1, and a cell with line breaks stays in its row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from services.intake.register.labels import Mapping, header_fields

csv.field_size_limit(2**31 - 1)  # a cell may hold a long complaint; the default cuts at 128 KiB
_HEADER_SEARCH_ROWS = 20
_DELIMITERS = (";", ",", "\t")


class UnreadableRegister(ValueError):
    """The file cannot be read as a register (message in Bahasa Indonesia)."""


@dataclass(frozen=True)
class Sheet:
    """A register's records: row number and cells, and how many data rows there are."""

    name: str
    records: list[tuple[int, tuple[Any, ...]]]


def read_sheet(path: Path, sheet: str | None = None) -> Sheet:
    """Every record of the file (XLSX by its sheet, else CSV)."""
    if not path.is_file():
        raise UnreadableRegister(f"Berkas {path} tidak ada.")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx(path, sheet)
    if sheet is not None:
        raise UnreadableRegister("--sheet hanya berlaku untuk berkas XLSX.")
    return Sheet(path.name, list(enumerate(_csv_rows(path.read_bytes()), start=1)))


def _xlsx(path: Path, sheet: str | None) -> Sheet:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise UnreadableRegister(f"Berkas XLSX tidak dapat dibuka: {error}") from error
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UnreadableRegister(
                f"Lembar '{sheet}' tidak ada; yang ada: {', '.join(book.sheetnames)}."
            )
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        rows = worksheet.iter_rows(min_row=1, values_only=True)
        return Sheet(worksheet.title, [(n, tuple(row)) for n, row in enumerate(rows, start=1)])
    finally:
        book.close()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    """The separator of the first lines: the one that splits them most evenly and most."""
    sample = text[:65_536]
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        lines = [line for line in sample.splitlines()[:20] if line.strip()]
        return max(_DELIMITERS, key=lambda d: sum(line.count(d) for line in lines))


def _csv_rows(raw: bytes) -> Iterator[tuple[str, ...]]:
    text = _decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        for record in reader:
            yield tuple(record)
    except csv.Error as error:
        raise UnreadableRegister(f"CSV rusak pada baris {reader.line_num}: {error}") from error


@dataclass(frozen=True)
class Layout:
    """Where the header is and which column holds which field; what is left unmapped."""

    header_row: int
    headers: tuple[str, ...]
    fields: dict[str, int]
    unmapped: tuple[str, ...]


def find_layout(sheet: Sheet, mapping: Mapping) -> Layout:
    """The first row (of the first twenty) naming the date and text columns is the header."""
    for number, cells in sheet.records[:_HEADER_SEARCH_ROWS]:
        headers = tuple("" if cell is None else str(cell).strip() for cell in cells)
        fields = header_fields(mapping, list(headers))
        if {"received_at", "text"} <= fields.keys():
            missing = [h for key, h in mapping.columns.items() if key not in fields]
            if missing:
                raise UnreadableRegister(f"Kolom {', '.join(missing)} tidak ada di baris judul.")
            used = set(fields.values())
            unmapped = tuple(h for i, h in enumerate(headers) if h and i not in used)
            return Layout(number, headers, fields, unmapped)
    first = next((cells for _, cells in sheet.records if any(cells)), ())
    seen = ", ".join(str(cell) for cell in first if cell is not None) or "(kosong)"
    raise UnreadableRegister(
        "Kolom tanggal dan isi pengaduan tidak ditemukan. Judul kolom yang terbaca: "
        f"{seen}. Sebutkan dengan --column tanggal=JUDUL --column isi=JUDUL atau --mapping."
    )
