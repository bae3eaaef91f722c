"""What a register's cells mean: text, dates, status, kind, channel, category, contact.

Each interpreter notes its warnings (or the reason to reject the row) on the row's Notes.
Messages are for the office, in Bahasa Indonesia; codes are stable ids for tools and tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from services.intake.draft import Contact
from services.intake.forms import TEXT_MAX
from services.intake.pseudonyms import phone_number
from services.intake.register.dates import WINDOWS_EPOCH, DateError, RegisterDate, read_date
from services.intake.register.labels import HEADERS, Mapping, normalize
from services.intake.register.reading import Layout
from shared import pii
from shared.channels import Channel
from shared.sop import Kind
from shared.text import CONTROL
from shared.vocabulary import GROUPS, Group, Status

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Issue:
    """Something the report tells about a row: a warning, or why it was rejected."""

    row: int
    column: str  # the header as the file writes it ("" for the row as a whole)
    code: str
    message: str
    rejected: bool

    def line(self) -> str:
        """One report line."""
        column = f', kolom "{self.column}"' if self.column else ""
        level = "DITOLAK" if self.rejected else "peringatan"
        return f"baris {self.row}{column}: {level}: {self.message}"


def cell_text(value: Any) -> str:
    """A cell as text: integral numbers without '.0', dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


@dataclass
class Notes:
    """The issues of one row, by field."""

    row: int
    layout: Layout
    issues: list[Issue] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        """Whether any issue rejects the row."""
        return any(issue.rejected for issue in self.issues)

    def add(self, key: str, code: str, message: str, *, rejected: bool = False) -> None:
        """Note an issue of a field's column."""
        index = self.layout.fields.get(key)
        column = self.layout.headers[index] if index is not None else ""
        self.issues.append(Issue(self.row, column, code, message, rejected))


ERROR_VALUES = frozenset(
    {"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
    | {"#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"}
)
"""What a spreadsheet shows for a formula that failed (openpyxl reads them as this text)."""


def text_of(value: Any, notes: Notes) -> tuple[str, list[pii.Found]]:
    """The row's text, and the personal data found in it."""
    text = cell_text(value)
    if CONTROL.search(text):
        text = CONTROL.sub("", text)
        notes.add("text", "control_characters", "karakter kontrol dibuang dari teks")
    text = text.strip()
    if text.upper() in ERROR_VALUES:  # a formula's failure, as the workbook shows it
        message = f"isi pengaduan berisi galat rumus spreadsheet {text}, bukan teks"
        notes.add("text", "text_error_value", message, rejected=True)
    elif not text:
        notes.add("text", "text_missing", "isi pengaduan kosong", rejected=True)
    elif len(text) > TEXT_MAX:
        message = f"teks sangat panjang ({len(text)} karakter); disimpan utuh"
        notes.add("text", "text_long", message)
    personal = pii.find(text)
    kinds = {item.kind for item in personal}
    found = [pii.LABELS[kind] for kind in pii.ERASABLE if kind in kinds]
    if found:
        message = f"teks memuat data pribadi ({', '.join(found)}); disegel bersama isi"
        notes.add("text", "personal_data_in_text", message)
    return text, personal


def date_of(
    value: Any,
    key: str,
    notes: Notes,
    tz: ZoneInfo,
    *,
    reject: bool = True,
    month_first: bool = False,
    epoch: datetime = WINDOWS_EPOCH,
) -> RegisterDate | None:
    try:
        found = read_date(value, tz, month_first=month_first, epoch=epoch)
    except DateError as error:
        suffix = "" if reject else "; dianggap tidak diketahui"
        notes.add(key, "date_unreadable", f"{error}{suffix}", rejected=reject)
        return None
    if found is not None and found.day_missing:
        notes.add(key, "day_missing", "tanggal tanpa hari; dianggap tanggal 1")
    return found


def outcome_of(
    status: str,
    closed: RegisterDate | None,
    notes: Notes,
    mapping: Mapping,
    closed_unknown: bool = False,
) -> tuple[str | None, datetime | None]:
    """resolved / rejected / None (open), and when it closed (None: open or not known).

    `closed_unknown`: the row says it closed, on a day that cannot be (noted already)."""
    meaning = mapping.statuses.get(normalize(status)) if status else None
    if status and meaning is None:
        notes.add(
            "status",
            "status_unknown",
            f"status '{status}' tidak dikenal; dinilai dari tanggal selesai",
        )
    if meaning == Group.OPEN:
        if closed is not None:
            notes.add(
                "closed_at", "closed_but_open", "status masih diproses; tanggal selesai diabaikan"
            )
        return None, None
    if meaning in GROUPS[Group.ANSWERED]:
        if closed is None and not closed_unknown:
            notes.add(
                "closed_at",
                "closed_date_missing",
                "status selesai tanpa tanggal selesai; ketepatan waktu tidak dinilai",
            )
        return Status(meaning).value, closed.at if closed else None
    if closed is not None or closed_unknown:
        return Status.RESOLVED.value, closed.at if closed else None
    notes.add(
        "status",
        "status_missing",
        "status dan tanggal selesai kosong; diimpor sebagai kasus terbuka",
    )
    return None, None


def kind_of(label: str, notes: Notes, mapping: Mapping, default: Kind = Kind.COMPLAINT) -> Kind:
    """The row's kind from its label; without one, the register's (`register_kind`)."""
    if not label:
        return default
    found = mapping.kinds.get(normalize(label))
    if found is None:
        notes.add("kind", "kind_unknown", f"jenis '{label}' tidak dikenal; dianggap pengaduan")
        return Kind.COMPLAINT
    return Kind(found)


def register_kind(text_header: str, mapping: Mapping) -> Kind:
    """What a row that says no kind is: what the text column's header names, as a register
    kept per kind heads it (*Isi Konsultasi*), else a complaint. A register of consultations
    numbered from 1 was read as complaints, and its rows then taken for corrections of the
    complaints register's rows of the same number and day (never stored)."""
    header = normalize(text_header)
    if header not in HEADERS["text"]:  # one of ours only: "Permasalahan/Pertanyaan" says none
        return Kind.COMPLAINT
    named = {mapping.kinds[word] for word in header.split() if word in mapping.kinds}
    return Kind(named.pop()) if len(named) == 1 else Kind.COMPLAINT


def channel_of(label: str, notes: Notes, mapping: Mapping) -> tuple[Channel, str | None]:
    if not label:
        notes.add("channel", "channel_missing", "kanal kosong; dicatat sebagai register lama")
        return Channel.IMPORT, None
    found = mapping.channels.get(normalize(label))
    if found is None:
        message = (
            f"kanal '{label}' tidak dikenal; dicatat sebagai register lama, label asli disimpan"
        )
        notes.add("channel", "channel_unknown", message)
        return Channel.IMPORT, label
    return Channel(found), label


def category_of(label: str, notes: Notes, mapping: Mapping) -> tuple[str | None, str | None]:
    if not label:
        return None, None
    found = mapping.categories.get(normalize(label))
    if found is None:
        message = f"kategori '{label}' tidak dikenal; direkap dengan label register ini"
        notes.add("category", "category_unknown", message)
    return found, label


AS_NUMBER = {"phone": "nomor telepon", "nik": "NIK"}
"""Identifiers a workbook may hold as numbers, which it keeps to 15 significant digits and
without a leading zero: 0812… loses its 0, a 16-digit NIK its last digit, before any import."""


def contact_of(value: Callable[[str], Any], notes: Notes) -> Contact | None:
    fields = {
        key: cell_text(value(key)) or None for key in ("name", "phone", "email", "nik", "address")
    }
    for key in AS_NUMBER:  # '0812…: the mark that keeps a spreadsheet from making it a number
        written = fields[key]
        fields[key] = written.removeprefix("'").strip() or None if written else None
    numbers = {key for key in AS_NUMBER if _number(value(key))}
    for key in sorted(numbers):
        message = f"{AS_NUMBER[key]} tersimpan sebagai angka di lembar kerja"
        notes.add(
            key, f"{key}_as_number", f"{message}; nol di depan atau digit terakhir bisa hilang"
        )
    if fields["phone"] and "phone" not in numbers and not _possible_phone(fields["phone"]):
        notes.add("phone", "phone_invalid", "nomor telepon tidak sah; disimpan apa adanya")
    if fields["email"] and not _EMAIL.match(fields["email"]):
        notes.add("email", "email_invalid", "alamat email tidak sah; disimpan apa adanya")
    nik = fields["nik"]
    if nik and "nik" not in numbers and not re.fullmatch(r"\d{16}", re.sub(r"[\s.]", "", nik)):
        notes.add("nik", "nik_invalid", "NIK bukan 16 angka; disimpan apa adanya")
    return Contact(**fields) if any(fields.values()) else None


def _number(cell: Any) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool)


def _possible_phone(raw: str) -> bool:
    number = phone_number(raw.strip())
    return number is not None and phonenumbers.is_possible_number(number)
