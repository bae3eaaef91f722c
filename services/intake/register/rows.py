"""One register row read: a row to import (with warnings), or a rejection saying why."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cached_property, partial
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.intake.draft import EARLIEST, Contact
from services.intake.register.cells import (
    Issue,
    Notes,
    category_of,
    cell_text,
    channel_of,
    contact_of,
    date_of,
    kind_of,
    outcome_of,
    register_kind,
    text_of,
)
from services.intake.register.dates import WINDOWS_EPOCH, RegisterDate
from services.intake.register.labels import Mapping, normalize
from services.intake.register.reading import Layout
from services.intake.submission import submission_id
from shared import pii
from shared.channels import Channel
from shared.sop import Kind


@dataclass(frozen=True)
class RegisterRow:
    """A row fit to import. `identity` makes its submission id: the same row is the same case."""

    row: int
    identity: str
    fingerprint: str  # of what the row says (`_fingerprint`): tells a changed row from a repeat
    cells_fingerprint: str  # of its cells' text: the fingerprint of imports before this one
    content: str  # of kind, date, text and person: the same complaint under another number
    gist: str  # day, text, kind, person (`_gist`): under its number, a correction or not
    register_ref: str | None
    kind: Kind
    channel: Channel
    source_channel: str | None
    category: str | None
    source_category: str | None
    received_at: datetime
    outcome: str | None
    closed_at: datetime | None
    text: str
    personal: tuple[pii.Found, ...]  # the personal data found in the text
    contact: Contact | None
    extra: dict[str, str]  # the register's other columns, sealed with the text
    case_id: UUID = field(init=False)  # deterministic, like a channel's message id

    def __post_init__(self) -> None:
        object.__setattr__(self, "case_id", submission_id(Channel.IMPORT, self.identity))

    def another_than(self, gist: str | None) -> bool:
        """Whether this row is another complaint than the one of `gist` that has its register
        number (and year): a number reused (monthly sheets, a register per kind, each numbered
        from 1), not a correction. Another kind or another person is another complaint; else
        a correction keeps its day or its text, and another complaint changes both. (A gist
        stored before kinds and persons were kept says only day and text.)"""
        if not self.register_ref or gist is None:
            return False
        day, words, kind, who = (*gist.split(":"), "", "")[:4]
        mine, my_words, my_kind, me = self.gist.split(":")
        if (kind and kind != my_kind) or (who and me and who != me):
            return True
        return day != mine and (not words or words != my_words)

    def numbered(self) -> RegisterRow:
        """The row under its number and year alone (how a row with a number is first stored)."""
        return replace(self, identity=self._by_number())

    def renumbered(self) -> RegisterRow:
        """The row under an identity of its own: its number and year, then its day (another
        complaint has its number already). A correction of it keeps its day, and so its case."""
        return replace(self, identity=f"{self._by_number()}:{self._day()}")

    def _by_number(self) -> str:
        return self.identity.removesuffix(f":{self._day()}")

    def _day(self) -> str:
        return self.gist.partition(":")[0]


@dataclass(frozen=True)
class RowReader:
    """Reads rows of one file's layout."""

    layout: Layout
    mapping: Mapping
    agency: str
    tz: ZoneInfo
    now: datetime
    month_first: frozenset[str] = frozenset()  # date fields whose column is written month first
    epoch: datetime = WINDOWS_EPOCH  # the day the file's day numbers count from

    @cached_property
    def _kind(self) -> Kind:
        """The register's kind, for a row that says none."""
        text = self.layout.fields.get("text")
        return register_kind(self.layout.headers[text] if text is not None else "", self.mapping)

    def read(self, row: int, cells: tuple[Any, ...]) -> tuple[RegisterRow | None, list[Issue]]:
        """The row to import (None if rejected) and every issue found."""
        notes = Notes(row, self.layout)
        value = partial(_cell, cells, self.layout.fields)
        text, personal = text_of(value("text"), notes)
        received = self._received(value("received_at"), notes)
        closed, closed_unknown = self._closed(value("closed_at"), received, notes)
        if notes.rejected or received is None:
            return None, notes.issues
        status = cell_text(value("status"))
        outcome, closed_at = outcome_of(status, closed, notes, self.mapping, closed_unknown)
        kind = kind_of(cell_text(value("kind")), notes, self.mapping, self._kind)
        channel, source_channel = channel_of(cell_text(value("channel")), notes, self.mapping)
        category, source_category = category_of(cell_text(value("category")), notes, self.mapping)
        contact = contact_of(value, notes)
        person = vars(contact).values() if contact else ()
        content = _digest(kind, received.at.date().isoformat(), *map(normalize, (text, *person)))
        ref = _number(cell_text(value("register_ref"))) or None
        extra = self._extra(cells)
        said = (kind, channel, source_channel, category, source_category, received.at, outcome)
        found = RegisterRow(
            row=row,
            identity=self._identity(ref, received, content),
            fingerprint=_fingerprint(ref, *said, closed_at, text, *person),
            cells_fingerprint=_digest(*(cell_text(cell) for cell in cells)),
            content=content,
            gist=_gist(received.at.date(), text, kind, contact),
            register_ref=ref,
            kind=kind,
            channel=channel,
            source_channel=source_channel,
            category=category,
            source_category=source_category,
            received_at=received.at,
            outcome=outcome,
            closed_at=closed_at,
            text=text,
            personal=tuple(personal),
            contact=contact,
            extra=extra,
        )
        return found, notes.issues

    def _received(self, value: Any, notes: Notes) -> RegisterDate | None:
        first = "received_at" in self.month_first
        found = date_of(value, "received_at", notes, self.tz, month_first=first, epoch=self.epoch)
        if found is None:
            if not cell_text(value):  # (an unreadable one was noted already)
                notes.add("received_at", "date_missing", "tanggal pengaduan kosong", rejected=True)
            return None
        if found.at > self.now + timedelta(days=1):
            notes.add("received_at", "date_future", "tanggal di masa depan", rejected=True)
        elif found.at.date() < EARLIEST:
            notes.add("received_at", "date_too_old", "tanggal sebelum tahun 2000", rejected=True)
        else:
            return found
        return None

    def _closed(
        self, value: Any, received: RegisterDate | None, notes: Notes
    ) -> tuple[RegisterDate | None, bool]:
        """The closing date, and whether the row says it closed on a day nobody knows (a
        closing date before the complaint's: the complaint is real, its closing day is not)."""
        first = "closed_at" in self.month_first
        closed = date_of(
            value, "closed_at", notes, self.tz, reject=False, month_first=first, epoch=self.epoch
        )
        if closed is None or received is None:
            return closed, False
        if closed.at > self.now + timedelta(days=1):
            message = (
                "tanggal selesai di masa depan; diimpor sebagai kasus selesai pada tanggal yang "
                "tidak diketahui, ketepatan waktu tidak dinilai"
            )
            notes.add("closed_at", "closed_future", message)
            return None, True
        if closed.at.date() < received.at.date():
            message = (
                "tanggal selesai lebih awal dari tanggal pengaduan; diimpor dengan tanggal "
                "pengaduan sebagai kasus selesai, ketepatan waktu tidak dinilai"
            )
            notes.add("closed_at", "closed_before_received", message)
            return None, True
        return RegisterDate(max(closed.at, received.at), closed.has_time), False

    def _identity(self, ref: str | None, received: RegisterDate, content: str) -> str:
        """The register's number within the row's year; else its kind, date, text, person."""
        if ref:
            return f"{self.agency}:no:{received.at.year}:{normalize(ref) or ref}"
        return f"{self.agency}:isi:{content[:40]}"

    def _extra(self, cells: tuple[Any, ...]) -> dict[str, str]:
        mapped = {self.layout.fields[key] for key in self.layout.fields if key != "agency"}
        mapped.discard(self.layout.fields.get("status", -1))
        return {
            header: cell_text(cells[index])
            for index, header in enumerate(self.layout.headers)
            if index < len(cells) and index not in mapped and cell_text(cells[index])
        }


def _cell(cells: tuple[Any, ...], fields: dict[str, int], key: str) -> Any:
    index = fields.get(key)
    return cells[index] if index is not None and index < len(cells) else None


def _number(written: str) -> str:
    """A register number as one, whatever its cell's format: 001 is 1 (a workbook formatted
    with leading zeros, saved as CSV, writes them; the cell itself holds 1)."""
    stripped = written.strip()
    return str(int(stripped)) if stripped.isascii() and stripped.isdigit() else written


def _gist(day: date, text: str, kind: Kind, contact: Contact | None) -> str:
    """What tells a correction from another complaint under the same number: its day, its
    text, its kind, and its person (by phone, NIK or e-mail, else by name; "" if unnamed)."""
    said = []
    if contact is not None:
        digits = [re.sub(r"\D", "", value or "") for value in (contact.nik, contact.phone)]
        said = [re.sub(r"^62", "0", number) for number in digits if number]
        said += [contact.email.strip().lower()] if contact.email else []
    if not said and contact is not None and contact.name:
        said = [normalize(contact.name)]
    who = _digest(*said)[:16] if said else ""
    return f"{day.isoformat()}:{_digest(normalize(text))[:32]}:{kind.value}:{who}"


def _fingerprint(*said: object) -> str:
    """What a row says once read (dates as instants, numbers as numbers): the same whether
    the register is the workbook or its CSV export, where the cells' text differs."""
    return _digest(json.dumps(said, default=_plain, ensure_ascii=False, sort_keys=True))


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(value)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
