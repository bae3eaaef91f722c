"""The office's published documents as content: letterhead, numbered title, sections, signature.

One model per document, rendered twice (documents.py: PDF and XLSX), so the workbook holds
exactly what the letter says. The office is data (Settings for the home agency,
shared.agencies for the others), never the agency id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.agencies import Agency
from shared.settings import Settings
from shared.working_time import MONTHS

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
BLANK = "................................"


@dataclass(frozen=True)
class Office:
    """The office as its letters name it (Settings.office_*)."""

    government: str
    name: str
    address: str
    contact: str
    city: str
    logo_path: str
    head_title: str
    head_name: str
    head_rank: str
    head_nip: str
    number_pattern: str
    timezone: str

    @classmethod
    def of(cls, settings: Settings) -> Office:
        """The office of these settings."""
        return cls(
            government=settings.office_government,
            name=settings.office_name,
            address=settings.office_address,
            contact=settings.office_contact,
            city=settings.office_city,
            logo_path=settings.office_logo_path,
            head_title=settings.office_head_title,
            head_name=settings.office_head_name,
            head_rank=settings.office_head_rank,
            head_nip=settings.office_head_nip,
            number_pattern=settings.recap_number_pattern,
            timezone=settings.timezone,
        )

    @classmethod
    def of_agency(cls, agency: Agency, settings: Settings) -> Office:
        """Another agency of the deployment, by its letterhead (the deployment's logo; its
        letters' numbering unless the agency has its own)."""
        head = agency.letterhead
        return cls(
            government=head.government,
            name=head.name or agency.name,
            address=head.address,
            contact=head.contact,
            city=head.city,
            logo_path=settings.office_logo_path,
            head_title=head.head_title,
            head_name=head.head_name,
            head_rank=head.head_rank,
            head_nip=head.head_nip,
            number_pattern=head.number_pattern or settings.recap_number_pattern,
            timezone=settings.timezone,
        )

    def letterhead(self) -> list[str]:
        """The lines at the top of every page one: government, office, address, contact."""
        return [line for line in (self.government, self.name.upper()) if line] + [
            line for line in (self.address, self.contact) if line
        ]

    def number(self, year: int, month: int) -> str:
        """The recap's letter number from the pattern."""
        return self.number_pattern.format(year=year, month=f"{month:02d}", roman=ROMAN[month - 1])

    def signature(self, day: date) -> list[str]:
        """The signature block: place and date, title, space to sign, name, rank, NIP."""
        lines = [f"{self.city}, {long_date(day)}", self.head_title, self.name, "", "", ""]
        lines.append(self.head_name or BLANK)
        if self.head_rank:
            lines.append(self.head_rank)
        lines.append(f"NIP. {self.head_nip or BLANK}")
        return lines

    def local(self, moment: datetime) -> datetime:
        """An instant in the office's time zone."""
        return moment.astimezone(ZoneInfo(self.timezone))

    def stamp(self, moment: datetime) -> str:
        """An instant as the office reads it, labelled (WIB for Asia/Jakarta)."""
        local = self.local(moment)
        return (
            f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H:%M} {zone_label(local)}"
        )


def zone_label(local: datetime) -> str:
    """WIB, WITA or WIT for Indonesia's zones; the offset otherwise."""
    names = {7: "WIB", 8: "WITA", 9: "WIT"}
    offset = local.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    return names.get(hours, f"UTC{hours:+d}")


def long_date(day: date) -> str:
    """5 November 2025."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class Section:
    """A heading, a table (its header and rows), and a note on what it counts."""

    heading: str
    header: list[str]
    rows: list[list[Any]]
    note: str = ""
    total_row: bool = False  # the last row is the table's totals
    chart: bool = False  # draw the rows' first two value columns as bars
    sheet: str = ""  # the workbook sheet it goes on (empty: the letter's first sheet)
    weights: tuple[float, ...] = ()  # relative column widths in the PDF (default: 3, 1, 1, …)


@dataclass(frozen=True)
class Letter:
    """A document the office signs: letterhead, title lines, sections, signature, footer."""

    office: Office
    title: str
    subtitle: list[str]
    sections: list[Section]
    produced_at: datetime
    revised_from: datetime | None = None  # the first publication, if this one replaces it
    landscape: bool = False
    signed: bool = True
    footer: list[str] = field(default_factory=list)

    @property
    def mark(self) -> str:
        """The out-of-date mark of a revision, or nothing."""
        if self.revised_from is None:
            return ""
        return (
            "DIPERBARUI — menggantikan rekap yang diterbitkan "
            f"{self.office.stamp(self.revised_from)}, karena data bulan ini berubah sesudahnya."
        )

    def made(self) -> str:
        """The line that says where the figures come from and when the document was made."""
        return (
            f"Sumber: data pengaduan {self.office.name} yang tercatat dalam aplikasi pengaduan "
            f"Aduan, per {self.office.stamp(self.produced_at)}."
        )

    def signature(self) -> list[str]:
        """The signature block, dated the day the document was made (office time)."""
        return (
            self.office.signature(self.office.local(self.produced_at).date()) if self.signed else []
        )


def printed(letter: Letter, fmt: Literal["pdf", "xlsx"]) -> bytes:
    """The letter as PDF or XLSX, made by the press (press.py: the printing libraries are
    loaded in its child, not in the service). Called on the drawing thread (drawing.py)."""
    from services.reporting.press import press

    made: bytes = press("services.reporting.printing:printed", letter, fmt)
    return made
