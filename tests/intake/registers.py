"""Generated complaint registers with known contents: what every row should become is
decided here, from the generator's own facts, not by reading the file back."""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from shared.working_time import MONTHS

HEADERS = (
    "No.",
    "Tanggal",
    "Nama Pelapor",
    "No. HP",
    "Email",
    "Alamat",
    "NIK",
    "Media",
    "Kategori",
    "Jenis",
    "Uraian Pengaduan",
    "Instansi",
    "Status",
    "Tanggal Selesai",
    "Keterangan",
)
CHANNELS = {  # the register's label -> our channel id
    "Surat": "letter",
    "Telepon": "phone",
    "WhatsApp": "whatsapp",
    "WA": "whatsapp",
    "Email": "email",
    "Loket": "counter",
    "SP4N-LAPOR!": "lapor",
    "Instagram": "instagram",
    "Website": "web",
    "Kotak Saran": "suggestion_box",
    "SMS": "sms",
}
CATEGORIES = {  # the register's topic -> the rekap's category: ours, or the register's own label
    "OSS": "perizinan_berusaha",
    "Persyaratan": "persyaratan",
    "Biaya": "biaya",
    "Sikap petugas": "petugas",
    "Waktu layanan": "waktu_layanan",
    "Reklame": "Reklame",  # no category of ours: counted under the register's own label
    "": None,
}
STATUSES = {"Selesai": "resolved", "Sudah ditanggapi": "resolved", "Ditolak": "rejected"}
TEXTS = [
    "Izin usaha saya belum selesai setelah tiga minggu.",
    "NIB tidak bisa diunduh dari OSS sejak kemarin.",
    "Petugas loket meminta berkas yang tidak ada di persyaratan.",
    "Bagaimana cara memperbarui data KBLI di OSS?",
    "Antrean layanan terlalu lama dan AC ruang tunggu mati.",
]


@dataclass
class Planned:
    """One row as written, and what the import must make of it."""

    row: int
    cells: list[Any]
    expect: str  # "import", "reject", "duplicate" or "blank"
    codes: set[str] = field(default_factory=set)  # issue codes the report must give this row
    received: date | None = None
    kind: str = "complaint"
    channel: str = "import"
    status: str = "in_progress"
    category: str | None = None


@dataclass
class Register:
    """A generated register: a title row, a blank row, the header, then the rows."""

    rows: list[Planned]
    header_row: int = 3

    def expected(self, wanted: str) -> list[Planned]:
        """The rows with this outcome."""
        return [row for row in self.rows if row.expect == wanted]

    def rekap(self) -> Counter[tuple[int, int, str, str, str]]:
        """Counts by (year, month, kind, channel, status) of the rows to import."""
        return Counter(
            (p.received.year, p.received.month, p.kind, p.channel, p.status)
            for p in self.expected("import")
            if p.received is not None
        )

    def categories(self) -> Counter[str | None]:
        """Counts by the rekap's category of the rows to import."""
        return Counter(p.category for p in self.expected("import"))

    def write_xlsx(self, path: Path) -> Path:
        """As an office keeps it: a title above the header, cells of mixed types."""
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Register 2021-2023")
        sheet.append(["BUKU REGISTER PENGADUAN DPMPTSP"])
        sheet.append([])
        sheet.append(list(HEADERS))
        for planned in sorted(self.rows, key=lambda p: p.row):
            sheet.append(planned.cells)
        book.save(path)
        return path

    def write_csv(self, path: Path, *, delimiter: str = ";", encoding: str = "utf-8-sig") -> Path:
        """As a spreadsheet exports it (every cell as text)."""
        with path.open("w", newline="", encoding=encoding, errors="replace") as out:
            writer = csv.writer(out, delimiter=delimiter)
            writer.writerow(["BUKU REGISTER PENGADUAN DPMPTSP"])
            writer.writerow([])
            writer.writerow(HEADERS)
            for planned in sorted(self.rows, key=lambda p: p.row):
                writer.writerow(["" if cell is None else _text(cell) for cell in planned.cells])
        return path


def _text(cell: Any) -> str:
    if isinstance(cell, datetime):
        return cell.strftime("%d/%m/%Y %H:%M")
    return str(cell)


def written_date(day: date, rng: random.Random, *, cells: bool = True) -> Any:
    """The same day in one of the ways registers write it."""
    style = rng.randrange(8 if cells else 6)
    month = MONTHS[day.month - 1]
    return [
        day.strftime("%d/%m/%Y"),
        f"{day.day} {month} {day.year}",
        day.isoformat(),
        day.strftime("%d-%m-%y"),
        f"{['Senin', 'Selasa', 'Rabu', 'Kamis', 'Jumat', 'Sabtu', 'Minggu'][day.weekday()]}, "
        f"{day.day} {month} {day.year}",
        day.strftime("%d.%m.%Y") + " 10.15",
        datetime(day.year, day.month, day.day, 9, 30),  # a date cell
        (day - date(1899, 12, 30)).days,  # a serial number, as an unformatted cell shows it
    ][style]


def plain_row(number: int, rng: random.Random, *, cells: bool = True) -> Planned:
    """A valid row: received 2021-2023, closed (or not) a few weeks later."""
    received = date(2021, 1, 1) + timedelta(days=rng.randrange(3 * 365))
    label = rng.choice(list(CHANNELS))
    kind = rng.choice(["Pengaduan", "Pengaduan", "Konsultasi"])
    status_label = rng.choice(["Selesai", "Sudah ditanggapi", "Ditolak", "Proses", ""])
    closes = status_label in STATUSES or (status_label == "" and rng.random() < 0.8)
    closed = received + timedelta(days=rng.randrange(0, 40)) if closes else None
    codes = {"status_missing"} if not closes and status_label == "" else set()
    topic = rng.choice(list(CATEGORIES))
    if topic and CATEGORIES[topic] == topic:
        codes.add("category_unknown")
    text = f"{rng.choice(TEXTS)} (register {number})"
    phone = f"0812{rng.randrange(10**7, 10**8)}"
    return Planned(
        row=0,
        cells=[
            str(number) if rng.random() < 0.5 else number,
            written_date(received, rng, cells=cells),
            f"Warga {number}",
            phone,
            f"warga{number}@contoh.id",
            f"Jl. Contoh No. {number}, Gresik",
            f"3525{rng.randrange(10**11, 10**12)}",
            label,
            topic,
            kind,
            text,
            "DPMPTSP",
            status_label,
            written_date(closed, rng, cells=cells) if closed else None,
            "",
        ],
        expect="import",
        codes=codes,
        received=received,
        kind="consultation" if kind == "Konsultasi" else "complaint",
        channel=CHANNELS[label],
        status=STATUSES.get(status_label, "resolved" if closes else "in_progress"),
        category=CATEGORIES[topic],
    )


TEXT, DATE, STATUS, CLOSED, CHANNEL, CATEGORY, NUMBER = 10, 1, 12, 13, 7, 8, 0
UNREADABLE = ["31/02/2022", "kemarin", "2022"]
PERSONAL = "Hubungi saya di 0813-1234-5678 atau NIK 3525011234567890."


def _quirk(kind: str, row: Planned, rng: random.Random, rows: list[Planned]) -> Planned:
    """A row with one quirk of real registers, and what it must become."""
    cells = list(row.cells)
    if kind == "duplicate":
        original = rng.choice([p for p in rows if p.expect == "import"])
        return replace(
            original, cells=list(original.cells), expect="duplicate", codes={"duplicate"}
        )
    if kind == "conflict":  # the same register number (and year) with another text
        original = rng.choice([p for p in rows if p.expect == "import" and p.cells[NUMBER]])
        cells = list(original.cells)
        cells[TEXT] = "Pengaduan lain dengan nomor yang sama."
        return replace(original, cells=cells, expect="reject", codes={"conflict"})
    changes: dict[str, tuple[int, Any, str, set[str]]] = {
        "no_text": (TEXT, "   ", "reject", {"text_missing"}),
        "no_date": (DATE, None, "reject", {"date_missing"}),
        "bad_date": (DATE, rng.choice(UNREADABLE), "reject", {"date_unreadable"}),
        "future": (DATE, "01/01/2031", "reject", {"date_future"}),
        "closed_first": (CLOSED, "01/01/2020", "import", {"closed_before_received"}),
        "no_channel": (CHANNEL, "", "import", {"channel_missing"}),
        "fax": (CHANNEL, "Faksimili", "import", {"channel_unknown"}),
        "new_category": (CATEGORY, "Tata ruang", "import", {"category_unknown"}),
        "long_text": (TEXT, _long_text(rng), "import", set()),
        "personal": (TEXT, PERSONAL, "import", {"personal_data_in_text"}),
        "no_number": (NUMBER, "", "import", set()),
        "closed_no_date": (STATUS, "Selesai", "import", {"closed_date_missing"}),
    }  # fmt: skip
    index, value, expect, codes = changes[kind]
    cells[index] = value
    planned = replace(row, cells=cells, expect=expect, codes=codes)
    if expect == "import":
        planned.codes |= row.codes  # a rejected row's other warnings are not reported
    if kind == "new_category":
        planned.category = "Tata ruang"
    if kind in ("no_channel", "fax"):
        planned.channel = "import"
    if kind == "closed_first" and cells[STATUS] == "":  # the closing date says it closed
        planned.codes.discard("status_missing")
        planned.status = "resolved"
    if kind == "closed_no_date":
        cells[CLOSED] = None
        planned.codes.discard("status_missing")
        planned.status = "resolved"
    return planned


def _long_text(rng: random.Random) -> str:
    lines = [f"Baris {n}: {rng.choice(TEXTS)}" for n in range(120)]
    return "\n".join(lines)  # thousands of characters, line breaks kept


QUIRKS = (
    "duplicate", "conflict", "no_text", "no_date", "bad_date", "future", "closed_first",
    "no_channel", "fax", "new_category", "long_text", "personal", "no_number", "closed_no_date",
)  # fmt: skip


def messy(
    count: int, *, seed: int = 2022, quirk_share: float = 0.15, cells: bool = True
) -> Register:
    """`count` rows, some with every quirk (each at least twice), a few blank rows."""
    rng = random.Random(seed)
    rows: list[Planned] = []
    quirks = [q for q in QUIRKS for _ in range(2)]
    quirks += [rng.choice(QUIRKS) for _ in range(int(count * quirk_share) - len(quirks))]
    slots = set(rng.sample(range(count // 10, count), len(quirks)))
    for number in range(1, count + 1):
        row = plain_row(number, rng, cells=cells)
        if number in slots:
            row = _quirk(quirks.pop(), row, rng, rows)
        rows.append(row)
    for blank in rng.sample(range(count // 10, count), 3):
        rows.insert(blank, Planned(0, [None] * len(HEADERS), "blank"))
    for position, planned in enumerate(rows):
        planned.row = 4 + position
    return Register(rows)


def clean(count: int, *, seed: int = 7, first: int = 1) -> Register:
    """`count` valid rows numbered from `first` (text cells only, as a CSV export has)."""
    rng = random.Random(seed)
    rows = [plain_row(number, rng, cells=False) for number in range(first, first + count)]
    for position, planned in enumerate(rows):
        planned.row = 4 + position
    return Register(rows)


def monthly(count: int, year: int, month: int, *, seed: int = 7) -> Register:
    """A month's sheet as offices keep them: `count` valid rows numbered from 1 again, each
    received in that month, with texts of their own."""
    rng = random.Random(seed)
    rows = []
    for number in range(1, count + 1):
        planned = plain_row(number, rng, cells=False)
        received = date(year, month, rng.randrange(1, 29))
        planned.cells[DATE] = written_date(received, rng, cells=False)
        planned.cells[CLOSED] = None
        planned.cells[STATUS] = "Proses"
        planned.cells[TEXT] = f"{rng.choice(TEXTS)} (bulan {month}, nomor {number})"
        planned.received, planned.status, planned.codes = received, "in_progress", set()
        planned.row = 4 + number - 1
        rows.append(planned)
    return Register(rows)


def combined(*parts: list[Planned]) -> Register:
    """Rows of other registers, one after another, as one file (copies, renumbered)."""
    rows = [replace(planned, cells=list(planned.cells)) for part in parts for planned in part]
    for position, planned in enumerate(rows):
        planned.row = 4 + position
    return Register(rows)
