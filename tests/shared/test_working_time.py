"""Working time on the office calendar: properties, and hand-checked 2026 dates."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.working_time import DayOverride, WorkingCalendar

WIB = ZoneInfo("Asia/Jakarta")
CALENDAR = WorkingCalendar("Asia/Jakarta")

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(WIB)
).map(lambda moment: moment.replace(microsecond=0))
durations = st.integers(min_value=0, max_value=60 * 8 * 40).map(lambda m: timedelta(minutes=m))


def is_working_instant(moment: datetime) -> bool:
    window = CALENDAR.window(moment.astimezone(WIB).date())
    return window is not None and window[0] <= moment <= window[1]


@settings(max_examples=300)
@given(instants, instants, durations)
def test_adding_working_time_is_monotonic(
    first: datetime, second: datetime, span: timedelta
) -> None:
    early, late = sorted((first, second))
    assert CALENDAR.add(early, span) <= CALENDAR.add(late, span)


@settings(max_examples=300)
@given(instants, durations, durations)
def test_adding_working_time_is_additive(start: datetime, a: timedelta, b: timedelta) -> None:
    assert CALENDAR.add(CALENDAR.add(start, a), b) == CALENDAR.add(start, a + b)


@settings(max_examples=300)
@given(instants, durations)
def test_working_time_never_lands_on_a_holiday_or_outside_hours(
    start: datetime, span: timedelta
) -> None:
    assert is_working_instant(CALENDAR.add(start, span))


@settings(max_examples=300)
@given(instants, durations)
def test_measuring_gives_back_what_was_added(start: datetime, span: timedelta) -> None:
    end = CALENDAR.add(start, span)
    assert CALENDAR.between(start, end) == span


@settings(max_examples=200)
@given(instants, durations)
def test_subtracting_undoes_adding_from_a_working_instant(start: datetime, span: timedelta) -> None:
    snapped = CALENDAR.add(start, timedelta(0))
    later = CALENDAR.add(snapped, span)
    assert CALENDAR.between(CALENDAR.add(later, -span), later) == span


def test_a_complaint_of_17_march_2026_waits_out_nyepi_and_idul_fitri() -> None:
    received = datetime(2026, 3, 17, 10, 0, tzinfo=WIB)
    # Off: 18 Mar (cuti bersama Nyepi), 19 (Nyepi), 20 (cuti bersama Idul Fitri), 21-22
    # (Idul Fitri, weekend), 23-24 (cuti bersama), 3 Apr (Good Friday), weekends.
    assert CALENDAR.add_working_minutes(received, 480) == datetime(2026, 3, 25, 10, 0, tzinfo=WIB)
    assert CALENDAR.add_working_days(received, 14) == datetime(2026, 4, 14, 10, 0, tzinfo=WIB)
    assert (
        CALENDAR.working_minutes_between(received, datetime(2026, 3, 25, 9, 0, tzinfo=WIB)) == 420
    )


def test_a_step_standard_counts_only_office_hours() -> None:
    friday_afternoon = datetime(2026, 11, 27, 15, 45, tzinfo=WIB)
    assert CALENDAR.add_working_minutes(friday_afternoon, 30) == datetime(
        2026, 11, 30, 8, 15, tzinfo=WIB
    )


def test_received_at_night_counts_from_the_next_opening() -> None:
    night = datetime(2026, 8, 16, 22, 0, tzinfo=WIB)  # Sunday; Monday 17 Aug is Independence Day
    assert CALENDAR.add_working_minutes(night, 0) == datetime(2026, 8, 18, 8, 0, tzinfo=WIB)


def test_cuti_bersama_and_holidays_have_indonesian_names() -> None:
    assert CALENDAR.holiday_name(date(2026, 12, 24)) == "Cuti Bersama Hari Raya Natal"
    assert CALENDAR.holiday_name(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert CALENDAR.holiday_name(date(2026, 8, 18)) is None


def test_an_administrator_can_add_a_day_off_and_give_back_a_working_day() -> None:
    calendar = CALENDAR.with_overrides(
        [
            DayOverride(date(2028, 3, 27), working=False, name="Cuti bersama Nyepi (SKB 2028)"),
            DayOverride(date(2026, 12, 24), working=True, name="Cuti bersama ditiadakan"),
        ]
    )
    assert not calendar.is_working_day(date(2028, 3, 27))
    assert calendar.holiday_name(date(2028, 3, 27)) == "Cuti bersama Nyepi (SKB 2028)"
    assert calendar.is_working_day(date(2026, 12, 24))
    christmas_eve = datetime(2026, 12, 24, 9, 0, tzinfo=WIB)
    assert calendar.add_working_minutes(christmas_eve, 60) == datetime.combine(
        date(2026, 12, 24), time(10, 0), WIB
    )


def test_the_calendar_loads_indonesia_alone_not_every_country() -> None:
    """The package's other ~250 countries would cost every service 8 MB."""
    probe = (
        "import sys; from datetime import date; from shared.working_time import WorkingCalendar;"
        "print(WorkingCalendar().holiday_name(date(2026, 8, 17)));"
        "print(sorted(m for m in sys.modules if m.startswith('holidays.countries')))"
    )
    root = Path(__file__).resolve().parents[2]
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert shown == ["Hari Kemerdekaan Republik Indonesia", "['holidays.countries.indonesia']"]
