"""Working time: the office's hours on working days, national holidays and cuti bersama.

Holidays come from the `holidays` package (Indonesia, PUBLIC and GOVERNMENT categories: the
latter holds the cuti bersama), plus an override list an administrator extends for years the
package does not know yet (or corrects). SOP time standards are working minutes; the case
deadline is a number of working days.

A *working instant* lies within office hours of a working day, opening and closing included.
Adding working time first moves a start outside hours forward to the next opening.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # holidays is imported when a calendar first looks a day up (intake never does)
    import holidays

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
"""Month names in Bahasa Indonesia, January first."""

_DAY = timedelta(days=1)
_SEARCH_LIMIT_DAYS = 3 * 366  # a calendar with no working day in three years is a mistake
_COUNTRY = "holidays.countries.indonesia"
_COUNTRY_LOCK = threading.Lock()


def _indonesia() -> type[holidays.HolidayBase]:
    """The package's class for Indonesia (`country_holidays("ID")` gives one of it), loaded
    alone: importing it by name first runs `holidays.countries`, which imports all of the
    package's ~250 countries (8 MB in every service)."""
    import holidays

    with _COUNTRY_LOCK:
        module = sys.modules.get(_COUNTRY)
        if module is None:
            path = Path(holidays.__file__).parent / "countries" / "indonesia.py"
            spec = importlib.util.spec_from_file_location(_COUNTRY, path)
            if spec is None or spec.loader is None:
                raise ImportError(_COUNTRY, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[_COUNTRY] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[_COUNTRY]
                raise
    country: type[holidays.HolidayBase] = module.ID
    return country


@dataclass(frozen=True)
class OfficeHours:
    """Opening and closing time per weekday (0 = Monday); a missing weekday is closed."""

    days: Mapping[int, tuple[time, time]]

    def on(self, weekday: int) -> tuple[time, time] | None:
        """The hours of a weekday, if open."""
        return self.days.get(weekday)

    @property
    def usual(self) -> tuple[time, time]:
        """The hours of the first open weekday: used when a closed weekday is made a working day."""
        return self.days[min(self.days)]


# Monday to Friday, eight working hours: one working day is the SOP's 480 minutes.
DEFAULT_HOURS = OfficeHours({weekday: (time(8, 0), time(16, 0)) for weekday in range(5)})


@dataclass(frozen=True)
class DayOverride:
    """An administrator's correction: a day off the package does not know, or a working day."""

    day: date
    working: bool
    name: str = ""


@dataclass(frozen=True)
class WorkingCalendar:
    """One office's working time, in its time zone."""

    timezone: str = "Asia/Jakarta"
    hours: OfficeHours = DEFAULT_HOURS
    overrides: tuple[DayOverride, ...] = field(default=())

    @cached_property
    def tz(self) -> ZoneInfo:
        """The office's time zone."""
        return ZoneInfo(self.timezone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        from holidays.constants import GOVERNMENT, PUBLIC

        return _indonesia()(categories=(PUBLIC, GOVERNMENT), language="id")

    @cached_property
    def _overrides(self) -> dict[date, DayOverride]:
        return {override.day: override for override in self.overrides}

    def with_overrides(self, overrides: Iterable[DayOverride]) -> WorkingCalendar:
        """The same calendar with another override list."""
        return WorkingCalendar(self.timezone, self.hours, tuple(overrides))

    def holiday_name(self, day: date) -> str | None:
        """Why a day is off (holiday, cuti bersama, an override), if it is."""
        override = self._overrides.get(day)
        if override is not None:
            return None if override.working else (override.name or "Libur")
        name = self._holidays.get(day)
        return str(name) if name else None

    @cached_property
    def _windows(self) -> dict[date, tuple[datetime, datetime] | None]:
        """Each day's window once worked out (deadlines of a whole register walk the same
        days over and over); the calendar is immutable, so they never change."""
        return {}

    def is_working_day(self, day: date) -> bool:
        """Open hours on a day that is no holiday (or an override made it a working day)."""
        return self.window(day) is not None

    def _is_working_day(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None and override.working:
            return True
        if self.holiday_name(day) is not None:
            return False
        return self.hours.on(day.weekday()) is not None

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing instants of a working day (None: no working day)."""
        if day in self._windows:
            return self._windows[day]
        found = self._window(day)
        self._windows[day] = found
        return found

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if not self._is_working_day(day):
            return None
        opening, closing = self.hours.on(day.weekday()) or self.hours.usual
        return (
            datetime.combine(day, opening, self.tz),
            datetime.combine(day, closing, self.tz),
        )

    def add(self, start: datetime, working: timedelta) -> datetime:
        """The instant `working` time after `start` (before it, if negative)."""
        if working < timedelta(0):
            return self._subtract(start, -working)
        moment = start.astimezone(self.tz)
        day = moment.date()
        for _ in range(_SEARCH_LIMIT_DAYS):
            window = self.window(day)
            if window is not None:
                opening, closing = window
                moment = max(moment, opening)
                if moment <= closing:
                    if working <= closing - moment:
                        return moment + working
                    working -= closing - moment
            day += _DAY
            moment = datetime.combine(day, time.min, self.tz)
        raise ValueError("no working time found within three years")

    def _subtract(self, start: datetime, working: timedelta) -> datetime:
        moment = start.astimezone(self.tz)
        day = moment.date()
        for _ in range(_SEARCH_LIMIT_DAYS):
            window = self.window(day)
            if window is not None:
                opening, closing = window
                moment = min(moment, closing)
                if moment >= opening:
                    if working <= moment - opening:
                        return moment - working
                    working -= moment - opening
            day -= _DAY
            moment = datetime.combine(day, time.max, self.tz)
        raise ValueError("no working time found within three years")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (negative if `end` is earlier)."""
        if end < start:
            return -self.between(end, start)
        total, day = timedelta(0), start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            window = self.window(day)
            if window is not None:
                overlap = min(window[1], end) - max(window[0], start)
                total += max(overlap, timedelta(0))
            day += _DAY
        return total

    @property
    def day_length(self) -> timedelta:
        """The working time of a usual day (480 minutes with the default hours)."""
        opening, closing = self.hours.usual
        return datetime.combine(date.min, closing) - datetime.combine(date.min, opening)

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        """`start` plus working minutes (an SOP step's time standard)."""
        return self.add(start, timedelta(minutes=minutes))

    def working_minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes from `start` to `end`."""
        return self.between(start, end) / timedelta(minutes=1)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same time of working day, `days` working days later (the case deadline)."""
        moment = self.add(start, timedelta(0))
        day = moment.date()
        window = self.window(day)
        assert window is not None
        offset = moment - window[0]
        for _ in range(days):
            day = self._next_working_day(day)
        opening, closing = self.window(day) or window
        return min(opening + offset, closing)

    def _next_working_day(self, day: date) -> date:
        for _ in range(_SEARCH_LIMIT_DAYS):
            day += _DAY
            if self.is_working_day(day):
                return day
        raise ValueError("no working day found within three years")
