"""Reading a register file: the rows of an XLSX sheet or a CSV file, and its header row.

A file is read by what it holds, not by its name: a ZIP is a workbook, an old binary
spreadsheet or a PDF is named back as what it is, a web page is read by its largest table (an
application's "Excel" export; services/intake/register/html_table.py), an empty file is said
to be empty, anything else is CSV. XLSX: the sheet asked for, else the one open when it was
saved (if shown), else the first shown; read to its real end whatever its recorded dimensions
say, at most `MAX_UNZIPPED_BYTES` unpacked. CSV: `;`, `,`
or tab separated, UTF-8 with or without BOM (a line that is not UTF-8: Windows-1252), or
UTF-16 with its BOM (a spreadsheet's "Unicode text"). A row number is the spreadsheet's: the
first record is row 1, and a cell with line breaks stays in its row. Empty rows are not kept.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from services.intake.register.dates import WINDOWS_EPOCH
from services.intake.register.html_table import LOOKS_LIKE_HTML, read_html
from services.intake.register.labels import Mapping, header_fields

csv.field_size_limit(2**31 - 1)  # a cell may hold a long complaint; the default cuts at 128 KiB
_HEADER_SEARCH_ROWS = 20
_DELIMITERS = (";", ",", "\t")
MAX_UNZIPPED_BYTES = 512 * 2**20
"""A workbook unpacking to more is refused (a register of 500,000 rows unpacks to less)."""
_SIGNATURES = {
    b"\xd0\xcf\x11\xe0": (
        "Berkas ini lembar kerja Excel lama (.xls) atau XLSX berkata sandi. Buka di program "
        "lembar kerja, lalu simpan sebagai XLSX tanpa kata sandi atau sebagai CSV."
    ),
    b"%PDF": "Berkas ini PDF, bukan lembar kerja. Impor register dalam bentuk XLSX atau CSV.",
}


class UnreadableRegister(ValueError):
    """The file cannot be read as a register (message in Bahasa Indonesia)."""


@dataclass(frozen=True)
class Sheet:
    """A register's records: row number and cells, and how many data rows there are."""

    name: str
    records: list[tuple[int, tuple[Any, ...]]]
    others: tuple[str, ...] = ()  # a workbook's other sheets of cells, which --sheet may name
    epoch: datetime = WINDOWS_EPOCH  # the day its day numbers count from (a workbook's own)
    merged: tuple[tuple[int, int, int], ...] = ()  # cells merged down: first row, last, column

    def spread(
        self, below: int, columns: Spreading, skip: Iterable[int] = ()
    ) -> tuple[Sheet, dict[int, int]]:
        """The sheet with each cell merged down (over rows after `below`) read as a spreadsheet
        shows it, and the rows that continue another (row -> the row it continues).

        A cell of a `whole` column (the complaint's text, its number) merged over several rows,
        below it rows with no `own` value of their own (no number, no day): one complaint
        written over several lines; those rows add their cells to the first row's, a line
        each, and are no rows of their own. Any other cell merged down gives its value to every
        row it covers (a day written once for that day's complaints), but in the `kept` columns
        (a number merged over two complaints does not make them one: the lower has none).
        Merges starting at the rows `skip` (a header printed again) are left as they are."""
        skipped = set(skip)
        downs = [m for m in self.merged if m[0] > below and m[0] not in skipped]
        if not downs:
            return self, {}
        rows = {number: list(cells) for number, cells in self.records}
        covered = {(n, column) for first, last, column in downs for n in range(first + 1, last + 1)}
        continued = _continuations(downs, columns, rows, covered)
        _give_down([m for m in downs if m[2] not in columns.kept], rows, continued)
        _join(rows, continued, covered)
        records = sorted((number, tuple(cells)) for number, cells in rows.items())
        return replace(self, records=records), continued


@dataclass(frozen=True)
class Spreading:
    """Which columns a merge down makes one complaint of (`whole`), which a row of its own
    has (`own`), which are never given down (`kept`)."""

    whole: frozenset[int] = frozenset()
    own: frozenset[int] = frozenset()
    kept: frozenset[int] = frozenset()


Merge = tuple[int, int, int]  # first row, last row, column


def _continuations(
    downs: list[Merge],
    columns: Spreading,
    rows: dict[int, list[Any]],
    covered: set[tuple[int, int]],
) -> dict[int, int]:
    """The rows under a merge of a `whole` column with no `own` value of their own, each with
    the first row it continues."""
    continued: dict[int, int] = {}
    for first, last, column in sorted(downs):
        if column not in columns.whole or first not in rows:
            continue
        owner = continued.get(first, first)
        for number in range(first + 1, last + 1):
            cells = rows.get(number, [])
            own = [
                c
                for c in columns.own
                if (number, c) not in covered and c < len(cells) and cells[c] not in (None, "")
            ]
            if not own:
                continued.setdefault(number, owner)
    return continued


def _give_down(downs: list[Merge], rows: dict[int, list[Any]], continued: dict[int, int]) -> None:
    """Each merged value into the empty cells it covers, of rows that are rows of their own."""
    for first, last, column in downs:
        top = rows.get(first, [])
        value = top[column] if column < len(top) else None
        for number in range(first + 1, last + 1):
            cells = rows.get(number)
            if value is None or cells is None or number in continued:
                continue  # nothing to give; no row (merged over and empty otherwise)
            cells += [None] * (column + 1 - len(cells))
            if cells[column] is None or cells[column] == "":
                cells[column] = value


def _join(
    rows: dict[int, list[Any]], continued: dict[int, int], covered: set[tuple[int, int]]
) -> None:
    """Each continuing row's own cells added to its first row's, a line each; then it goes."""
    for number, owner in sorted(continued.items()):
        cells, target = rows.pop(number, None), rows.get(owner)
        if cells is None or target is None:
            continue
        for column, cell in enumerate(cells):
            if (number, column) in covered or cell is None or cell == "":
                continue
            target += [None] * (column + 1 - len(target))
            had = target[column]
            target[column] = cell if had is None or had == "" else f"{had}\n{cell}"


def read_sheet(path: Path, sheet: str | None = None) -> Sheet:
    """Every record of the file (a workbook by its sheet, else CSV)."""
    if not path.is_file():
        raise UnreadableRegister(f"Berkas {path} tidak ada.")
    with path.open("rb") as file:
        head = file.read(4)
    for signature, message in _SIGNATURES.items():
        if head.startswith(signature):
            raise UnreadableRegister(message)
    if head.startswith(b"PK\x03\x04"):
        return _xlsx(path, sheet)
    if sheet is not None:
        raise UnreadableRegister("--sheet hanya berlaku untuk berkas XLSX.")
    raw = path.read_bytes()
    start = raw[:4096].removeprefix(b"\xef\xbb\xbf")
    if not raw.strip(b"\xef\xbb\xbf\xff\xfe \t\r\n\x00"):
        raise UnreadableRegister("Berkas ini kosong.")
    if b"urn:schemas-microsoft-com:office:spreadsheet" in start:
        raise UnreadableRegister(
            "Berkas ini lembar kerja XML (Excel 2003). Buka di program lembar kerja, lalu simpan "
            "sebagai XLSX atau CSV."
        )
    if LOOKS_LIKE_HTML.match(_decode(start[: len(start) // 2 * 2])):  # an "Excel" export
        records, merged = read_html(_decode(raw))
        if not _kept(records):
            raise UnreadableRegister("Berkas ini halaman web (HTML) tanpa tabel berisi.")
        return Sheet(path.name, _kept(records), merged=tuple(merged))
    return Sheet(path.name, _kept(enumerate(_csv_rows(raw), start=1)))


def _kept(rows: Iterable[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, tuple[Any, ...]]]:
    """The rows holding anything, with their numbers (a sheet formatted down to its millionth
    row holds a million empty ones)."""
    return [(n, row) for n, row in rows if any(cell is not None and cell != "" for cell in row)]


def _xlsx(path: Path, sheet: str | None) -> Sheet:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            if any(m.filename.lower() == "mimetype" for m in archive.infolist()):
                raise UnreadableRegister(
                    "Berkas ini lembar kerja OpenDocument (.ods). Simpan sebagai XLSX atau CSV."
                )
    except zipfile.BadZipFile as error:
        raise UnreadableRegister(
            "Berkas ini bukan XLSX yang utuh (rusak, terpotong, atau berkata sandi). Buka di "
            "program lembar kerja lalu simpan lagi sebagai XLSX, atau simpan sebagai CSV."
        ) from error
    if unpacked > MAX_UNZIPPED_BYTES:
        raise UnreadableRegister(
            f"Berkas XLSX ini terlalu besar setelah dibuka ({unpacked // 2**20} MB; paling "
            f"banyak {MAX_UNZIPPED_BYTES // 2**20} MB). Bagi registernya menjadi beberapa berkas."
        )
    file = path.open("rb")  # a file, not a name: a workbook by its content, whatever its suffix
    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except Exception as error:  # any fault of the file's is named, never a traceback
        file.close()
        raise UnreadableRegister(f"Berkas XLSX tidak dapat dibuka: {_fault(error)}") from error
    try:
        worksheet = _worksheet(book, sheet)
        worksheet.reset_dimensions()  # read to the real end, whatever the file says its size is
        rows = worksheet.iter_rows(min_row=1, values_only=True)
        records = _kept((n, tuple(row)) for n, row in enumerate(rows, 1))
        if _has_formulas(worksheet):
            _computed(file, worksheet.title, dict(records[:FORMULA_ROWS]))
        others = tuple(w.title for w in book.worksheets if w.title != worksheet.title)
        return Sheet(worksheet.title, records, others, book.epoch, _merged_down(worksheet))
    except UnreadableRegister:
        raise
    except Exception as error:  # a broken sheet inside a sound archive
        raise UnreadableRegister(f"Lembar XLSX tidak dapat dibaca: {_fault(error)}") from error
    finally:
        book.close()
        file.close()


FORMULA_ROWS = 200
"""The first rows checked for formulas saved without their values."""


def _has_formulas(worksheet: Any) -> bool:
    """Whether the sheet's first megabyte holds a formula (most registers hold none: they are
    spared reading the workbook a second time)."""
    with worksheet._get_source() as source:  # the sheet's XML in the open archive
        return b"<f" in source.read(2**20)


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _merged_down(worksheet: Any) -> tuple[tuple[int, int, int], ...]:
    """The sheet's cells merged over several rows: (first row, last row, column index). A
    read-only worksheet does not keep them: they are read from the sheet's XML, after its
    rows."""
    found: set[bytes] = set()
    tail = b""
    with worksheet._get_source() as source:  # the sheet's XML in the open archive
        while chunk := source.read(2**20):
            text = tail + chunk
            found.update(_MERGE.findall(text))
            tail = text[-100:]  # a tag cut between two chunks is whole in the next
    merged: set[tuple[int, int, int]] = set()
    for ref in found:  # the pattern takes whole ranges: every bound is given
        min_col, min_row, _, max_row = range_boundaries(ref.decode())
        if min_col is None or min_row is None or max_row is None:
            continue
        if max_row > min_row:
            merged.add((min_row, max_row, min_col - 1))
    return tuple(sorted(merged))


def _computed(file: BinaryIO, title: str, values: dict[int, tuple[Any, ...]]) -> None:
    """Refuse a workbook saved without its formulas' values (by a program that writes formulas
    but does not compute them): its dates and texts would read as empty, and every such row be
    rejected for a reason that is not true. A workbook with any computed formula was computed
    (a formula may rightly give nothing)."""
    file.seek(0)
    book = load_workbook(file, read_only=True, data_only=False)
    uncomputed = None
    try:
        worksheet = book[title]
        worksheet.reset_dimensions()
        rows = worksheet.iter_rows(max_row=FORMULA_ROWS, values_only=True)
        for number, row in enumerate(rows, 1):
            known = values.get(number, ())
            for column, cell in enumerate(row):
                if not (isinstance(cell, str) and cell.startswith("=")):
                    continue
                if column < len(known) and known[column] is not None:
                    return  # computed
                uncomputed = uncomputed or f"{get_column_letter(column + 1)}{number} ({cell[:40]})"
    finally:
        book.close()
    if uncomputed is not None:
        raise UnreadableRegister(
            f"Sel {uncomputed} berisi rumus yang nilainya tidak tersimpan. Buka berkas di "
            "program lembar kerja, simpan lagi (nilainya dihitung saat disimpan), lalu impor ulang."
        )


def _worksheet(book: Any, sheet: str | None) -> Any:
    """The sheet asked for; else the one open when the file was saved, if shown; else the first
    shown sheet of cells (a chart sheet holds no rows)."""
    sheets = [w for w in book.worksheets if hasattr(w, "iter_rows")]
    names = ", ".join(w.title for w in sheets) or "(tidak ada)"
    if sheet is not None:
        chosen = next((w for w in sheets if w.title == sheet), None)
        if chosen is None:
            raise UnreadableRegister(f"Lembar '{sheet}' tidak ada; lembar berisi sel: {names}.")
        return chosen
    shown = [w for w in sheets if getattr(w, "sheet_state", "visible") == "visible"]
    active = book.active if hasattr(book.active, "iter_rows") else None
    if active is not None and active in shown:
        return active
    if not shown:
        raise UnreadableRegister(f"Tidak ada lembar berisi sel yang ditampilkan; lembar: {names}.")
    return shown[0]


def _fault(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}" if str(error) else type(error).__name__


def _decode(raw: bytes) -> str:
    """UTF-16 by its BOM; else UTF-8, a line that is not being read as Windows-1252 (one such
    byte garbles that line only, not every line of the file)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = raw.removeprefix(b"\xef\xbb\xbf").splitlines(keepends=True)
    return "".join(_line(line) for line in lines)


def _line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
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
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    width = 0  # the header's cells: a cell holding lines of as many is rows swallowed
    try:
        for number, record in enumerate(reader, start=1):
            width = width or (len(record) if len(record) > 1 else 0)
            if width and any(_swallowed(cell, delimiter, width) for cell in record):
                raise UnreadableRegister(
                    f'CSV rusak pada baris {number}: sebuah tanda kutip (") dibuka tetapi tidak '
                    "ditutup, sehingga baris-baris sesudahnya terbaca sebagai satu sel. "
                    "Perbaiki tanda kutip di baris itu, lalu impor lagi."
                )
            yield tuple(record)
    except csv.Error as error:
        raise UnreadableRegister(f"CSV rusak pada baris {reader.line_num}: {error}") from error


SWALLOWED_ROWS = 3
"""A cell holding this many lines that each split like a whole row of the file (as many
separators as the header) is rows swallowed by a quote left open, not a complaint's text."""


_A_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{5}")


def _swallowed(cell: str, delimiter: str, width: int) -> bool:
    """Whether a cell holds `SWALLOWED_ROWS` lines that each split like a row of the file and
    hold a date (a list typed in a complaint, `jalan rusak; lampu mati; got mampet`, does not)."""
    if width < 3 or cell.count("\n") < SWALLOWED_ROWS:
        return False
    rows = sum(
        1
        for line in cell.splitlines()
        if line.count(delimiter) >= width - 1 and _A_DATE.search(line)
    )
    return rows >= SWALLOWED_ROWS


@dataclass(frozen=True)
class Layout:
    """Where the header is and which column holds which field; what is left unmapped."""

    header_row: int
    headers: tuple[str, ...]
    fields: dict[str, int]
    unmapped: tuple[str, ...]
    written: tuple[tuple[str, ...], ...] = ()  # the header's row or two rows, as written


def _labels(cells: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if cell is None else str(cell).strip() for cell in cells)


def _two_rows(upper: tuple[str, ...], lower: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A header written on two rows (*Tanggal* merged over *Masuk* and *Selesai*), read both
    ways: each column's upper and lower label together, and its lower label alone (an upper
    one over several columns may only group them: *Pengaduan* over *Tanggal* and *Uraian*).
    A merged upper label stands in its first column only: it is carried over the empty ones to
    its right that have a lower label."""
    width = max(len(upper), len(lower))
    upper, lower = upper + ("",) * (width - len(upper)), lower + ("",) * (width - len(lower))
    carried, group = list(upper), ""
    for i in range(width):
        group = upper[i] or (group if lower[i] else "")
        carried[i] = group
    together = tuple(f"{u} {d}".strip() for u, d in zip(carried, lower, strict=True))
    alone = tuple(d or u for u, d in zip(carried, lower, strict=True))
    return [together, alone]


def _headers(
    records: list[tuple[int, tuple[Any, ...]]], index: int, mapping: Mapping
) -> tuple[int, tuple[str, ...], dict[str, int]]:
    """The header that starts at this record: its last row, labels and fields (one row, or
    two when read together they name more fields)."""
    number, cells = records[index]
    best = (number, _labels(cells), header_fields(mapping, list(_labels(cells))))
    if index + 1 < len(records) and records[index + 1][0] == number + 1:
        lower = _labels(records[index + 1][1])
        together, alone = _two_rows(_labels(cells), lower)
        # Column by column: the two rows' label where it names a field (Tanggal Masuk), else
        # the lower's (Nama under a group Pelapor).
        mixed = tuple(
            t if header_fields(mapping, [t]) else a for t, a in zip(together, alone, strict=True)
        )
        for labels in (together, alone, mixed):
            fields = header_fields(mapping, list(labels))
            if {"received_at", "text"} <= fields.keys() and len(fields) > len(best[2]):
                best = (number + 1, labels, fields)
    return best


def find_layout(sheet: Sheet, mapping: Mapping) -> Layout:
    """The first row (of the first twenty) naming the date and text columns is the header; or
    the first two rows that do together, when they name more columns than one alone."""
    for index in range(min(_HEADER_SEARCH_ROWS, len(sheet.records))):
        number, headers, fields = _headers(sheet.records, index, mapping)
        if {"received_at", "text"} <= fields.keys() and index + 1 < len(sheet.records):
            # A title row right above a header of two rows reads as a header with the upper
            # row; the two rows below it name more columns (a group over name and phone).
            below = _headers(sheet.records, index + 1, mapping)
            if below[0] > number and len(below[2]) > len(fields):
                index, (number, headers, fields) = index + 1, below
        if {"received_at", "text"} <= fields.keys():
            missing = [h for key, h in mapping.columns.items() if key not in fields]
            if missing:
                raise UnreadableRegister(f"Kolom {', '.join(missing)} tidak ada di baris judul.")
            used = set(fields.values())
            unmapped = tuple(h for i, h in enumerate(headers) if h and i not in used)
            written = tuple(
                _labels(cells) for n, cells in sheet.records[index : index + 2] if n <= number
            )
            return Layout(number, headers, fields, unmapped, written)
    first = next((cells for _, cells in sheet.records if any(cells)), ())
    seen = ", ".join(str(cell) for cell in first if cell is not None) or "(kosong)"
    elsewhere = (
        f" Lembar yang dibaca: '{sheet.name}'; lembar lain di berkas ini: "
        f"{', '.join(sheet.others)} (pilih dengan --sheet NAMA)."
        if sheet.others
        else ""
    )
    named = ", ".join(f"'{header}'" for header in mapping.columns.values())
    raise UnreadableRegister(
        "Kolom tanggal dan isi pengaduan tidak ditemukan. Judul kolom yang terbaca: "
        f"{seen}."
        + (f" Judul kolom yang disebutkan: {named}; periksa ejaannya." if named else "")
        + " Sebutkan dengan --column tanggal=JUDUL --column isi=JUDUL atau --mapping."
        + elsewhere
    )


def registers_beside(path: Path, sheet: Sheet, mapping: Mapping) -> list[str]:
    """The workbook's other sheets whose first rows hold a register's header (a register kept a
    sheet a month): the import reads one sheet, and says which others it did not."""
    if not sheet.others:
        return []
    found = []
    with path.open("rb") as file:
        book = load_workbook(file, read_only=True, data_only=True)
        try:
            for name in sheet.others:
                worksheet = book[name]
                rows = worksheet.iter_rows(max_row=_HEADER_SEARCH_ROWS + 1, values_only=True)
                head = Sheet(name, _kept((n, tuple(row)) for n, row in enumerate(rows, 1)))
                try:
                    find_layout(head, mapping)
                except UnreadableRegister:
                    continue
                found.append(name)
        except Exception:  # noqa: BLE001 - a sheet that cannot be read is no register to name
            return found
        finally:
            book.close()
    return found
