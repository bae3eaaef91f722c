"""Dates as registers write them, mixed in one column: spreadsheet dates and serial numbers,
ISO, day-first numbers (12/03/2022, 12-03-22, 12.03.2022), and Indonesian or English month
and day names ("Sabtu, 12 Maret 2022 pukul 10.15 WIB").

The plain forms (day first or ISO with a four-digit year, perhaps a time) are read directly;
python-dateutil with a table of Indonesian names reads the rest, day-first, and says which parts
a text left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil import parser
from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900

WINDOWS_EPOCH: datetime = CALENDAR_WINDOWS_1900
"""The day a spreadsheet's day numbers count from, unless its workbook uses the 1904 date
system (old Excel for Mac): 1899-12-30."""
_SERIAL = re.compile(r"^\d{5}([.,]\d+)?$")  # a decimal comma too, as Indonesian CSV writes
_COMPACT = re.compile(r"^(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$")  # 20220312
# A clock written with dots, a word of its own, before or after the date: 10.15 -> 10:15
# (never part of a date written with dots, 10.03.2022); with seconds only after a space, as
# 10.03.22 alone is a date
_CLOCK_DOTS = re.compile(
    r"(?<![\d.])([01]?\d|2[0-3])\.([0-5]\d)()(?![\d.])"
    r"|(?<=\s)([01]?\d|2[0-3])\.([0-5]\d)\.([0-5]\d)(?![\d.])"
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_NOISE = re.compile(r"\b(wib|wita|wit|pukul|pkl|jam|tanggal|tgl)\b\.?", re.IGNORECASE)
_DEFAULTS = (datetime(2001, 1, 1), datetime(2002, 2, 2))


class _Indonesian(parser.parserinfo):
    """Month and day names in Bahasa Indonesia (and English), day first."""

    MONTHS: list[tuple[str, ...]] = [  # type: ignore[assignment]  # noqa: RUF012 - read by dateutil
        ("Jan", "Januari", "January"),
        ("Feb", "Peb", "Februari", "Pebruari", "February"),
        ("Mar", "Mrt", "Maret", "March"),
        ("Apr", "April"),
        ("Mei", "May"),
        ("Jun", "Juni", "June"),
        ("Jul", "Juli", "July"),
        ("Agu", "Agt", "Ags", "Agus", "Agust", "Agustus", "Aug", "August"),
        ("Sep", "Sept", "September"),
        ("Okt", "Oktober", "Oct", "October"),
        ("Nov", "Nop", "Nopember", "November"),
        ("Des", "Desember", "Dec", "December"),
    ]
    WEEKDAYS: list[tuple[str, ...]] = [  # type: ignore[assignment]  # noqa: RUF012
        ("Sen", "Senin", "Mon", "Monday"),
        ("Sel", "Selasa", "Tue", "Tuesday"),
        ("Rab", "Rabu", "Wed", "Wednesday"),
        ("Kam", "Kamis", "Thu", "Thursday"),
        ("Jum", "Jumat", "Fri", "Friday"),
        ("Sab", "Sabtu", "Sat", "Saturday"),
        ("Min", "Minggu", "Ahad", "Sun", "Sunday"),
    ]

    def __init__(self, *, yearfirst: bool = False) -> None:
        super().__init__(dayfirst=not yearfirst, yearfirst=yearfirst)


_DAY_FIRST = parser.parser(_Indonesian())
_YEAR_FIRST = parser.parser(_Indonesian(yearfirst=True))  # 2022-03-12 (dayfirst would swap)
_STARTS_WITH_YEAR = re.compile(r"^\s*\d{4}\s*[-/.]")


class DateError(ValueError):
    """A value that is no date (the message says why, in Bahasa Indonesia)."""


@dataclass(frozen=True)
class RegisterDate:
    """A date read from a cell; `has_time` when the register gave the time of day too."""

    at: datetime  # aware, in the office's time zone
    has_time: bool
    day_missing: bool = False  # "Maret 2022": taken as the first of the month


_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|([+-])(0\d|1[0-4]):?([0-5]\d))\s*$", re.I)
"""An offset as a machine writes it, right after the time: Z, +07:00, -0300 (not a zone's
name, nor UTC+7 / GMT+7, whose signs programs read both ways)."""

NUMERIC = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})(?!\d)")


def written_month_first(values: Iterable[object]) -> bool:
    """Whether a column's numeric dates are written month first (a system set to American
    English exports 03/25/2022): some have a second part over 12, none a first part over 12.
    Read day first, every date of such a column with a day up to 12 would be in another month."""
    day_first = month_first = False
    for value in values:
        found = NUMERIC.match(value) if isinstance(value, str) else None
        if found is not None:
            day_first |= int(found.group(1)) > 12
            month_first |= int(found.group(3)) > 12
    return month_first and not day_first


def read_date(
    value: object, tz: ZoneInfo, *, month_first: bool = False, epoch: datetime = WINDOWS_EPOCH
) -> RegisterDate | None:
    """The date in a cell (None when empty); DateError when it cannot be one. `month_first`:
    numeric dates of the cell's column are written month first (`written_month_first`);
    `epoch`: the day the file's day numbers count from."""
    if month_first and isinstance(value, str):
        value = NUMERIC.sub(r"\3\2\1\2\4", value, count=1)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return RegisterDate(value.replace(tzinfo=tz) if value.tzinfo is None else value, True)
    if isinstance(value, date):
        return RegisterDate(datetime.combine(value, time.min, tz), False)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _typed_compact(value):
            return _serial(float(value), tz, epoch)
        value = f"{value:.0f}"  # 20240105 typed into a number cell: the compact date below
    text = str(value).strip()
    if _SERIAL.match(text):
        return _serial(float(text.replace(",", ".")), tz, epoch)
    if _COMPACT.match(text):
        try:
            return RegisterDate(datetime.strptime(text, "%Y%m%d").replace(tzinfo=tz), False)
        except ValueError:
            raise DateError(f"tanggal tidak dapat dibaca: '{text}'") from None
    return _parsed(text, tz)


def _typed_compact(number: float) -> bool:
    """Whether a number is a date typed as digits (20240105): no day number is that large."""
    return float(number).is_integer() and bool(_COMPACT.match(f"{number:.0f}"))


def _serial(number: float, tz: ZoneInfo, epoch: datetime) -> RegisterDate:
    """A spreadsheet's day number (days since `epoch`), as a CSV export writes dates and a
    workbook a date cell formatted as a number."""
    if not 20_000 <= number <= 80_000:  # 1954 to 2119
        raise DateError(f"angka {number:g} bukan tanggal")
    moment = epoch + timedelta(days=number)
    return RegisterDate(moment.replace(tzinfo=tz), number != int(number))


def _parsed(text: str, tz: ZoneInfo) -> RegisterDate:
    found = _text_date(text)
    if found is None:
        raise DateError(f"tanggal tidak dapat dibaca: '{_short(text)}'")
    moment, has_time, day_missing = found
    numeric = NUMERIC.match(text)
    if numeric is not None and int(numeric.group(3)) != moment.month:
        # dateutil reads 01/13/2023 month first when day first cannot be: a register's dates
        # are day first (a month-first column is turned round before), so this is no date
        raise DateError(
            f"tanggal tidak dapat dibaca: '{_short(text)}' (hari/bulan/tahun: "
            f"tidak ada bulan {int(numeric.group(3))})"
        )
    offset = _OFFSET.search(text) if has_time else None
    if offset is None:
        return RegisterDate(moment.replace(tzinfo=tz), has_time, day_missing)
    # a time with its offset, as a machine writes it (2022-03-31T20:00:00Z, +07:00): that
    # moment, in the office's zone
    sign, hours, minutes = offset.group(2) or "+", offset.group(3), offset.group(4)
    shift = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    try:
        at = (moment - (shift if sign == "+" else -shift)).replace(tzinfo=UTC).astimezone(tz)
    except (OverflowError, ValueError):
        raise DateError(f"tanggal tidak dapat dibaca: '{_short(text)}'") from None
    return RegisterDate(at, has_time, day_missing)


Found = tuple[datetime, bool, bool]
"""A text's date: the moment, whether it gave the time of day, whether it left out the day."""

_PLAIN = re.compile(
    r"^\s*(?:(?P<d>\d{1,2})(?P<s>[/.-])(?P<m>\d{1,2})(?P=s)(?P<y>(?:19|20)\d{2})"
    r"|(?P<iy>(?:19|20)\d{2})-(?P<im>\d{2})-(?P<id>\d{2}))"
    r"(?:(?:\s+|(?<=\d)T)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?\s*$"
)
"""The forms most registers write every date in: day first (12/03/2022, 12-03-2022,
12.03.2022) or ISO, a four-digit year, perhaps a time (its dots already colons)."""


@lru_cache(maxsize=65_536)
def _text_date(text: str) -> Found | None:
    """A text's date: the plain forms read directly, any other by dateutil."""
    cleaned = _CLOCK_DOTS.sub(_colon_clock, _NOISE.sub(" ", text.replace(",", " ")))
    return _plain(cleaned) or _by_dateutil(cleaned)


def _plain(cleaned: str) -> Found | None:
    """A date in one of the `_PLAIN` forms, read as dateutil reads it (None for any other
    text, and for a day, month or time no calendar has: dateutil says what those are). About
    twenty times faster: dateutil parses each text twice, 0.4–0.5 ms, and a register's rows
    hold a date or two each, most of them written so."""
    found = _PLAIN.match(cleaned)
    if found is None:
        return None
    part = found.groupdict()
    day, month, year = (
        (part["d"], part["m"], part["y"]) if part["y"] else (part["id"], part["im"], part["iy"])
    )
    hour, minute, second = (int(part[name] or 0) for name in ("H", "M", "S"))
    try:
        moment = datetime(int(year), int(month), int(day), hour, minute, second)
    except ValueError:
        return None
    return moment, moment.time() != time.min, False


def _by_dateutil(cleaned: str) -> Found | None:
    """Parse twice with different defaults: what differs was not in the text."""
    reader = _YEAR_FIRST if _STARTS_WITH_YEAR.match(cleaned) else _DAY_FIRST
    try:
        first, second = (reader.parse(cleaned, default=d, ignoretz=True) for d in _DEFAULTS)
    except (ValueError, OverflowError, parser.ParserError):
        return None
    if first.year != second.year or first.month != second.month:
        return None  # no year or no month: not a date a register can mean
    written = {int(year) for year in _YEAR.findall(cleaned)}
    if written and written != {first.year}:  # two years, or read as another: never a guess
        return None
    has_time = first.time() != time.min or second.time() != time.min
    if first.day != second.day:
        return first.replace(day=1), has_time, True
    return first, has_time, False


def _colon_clock(match: re.Match[str]) -> str:
    """10.15 is a time when it stands as a word of its own: dateutil wants 10:15."""
    hours, minutes, seconds = (part for part in match.groups() if part is not None)
    return f"{hours}:{minutes}" + (f":{seconds}" if seconds else "")


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
