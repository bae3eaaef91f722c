"""The administrator's corrections to the working calendar, event-sourced for the record."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import event

from shared.aggregate import AgencyAggregate
from shared.working_time import DayOverride

CALENDAR_NAMESPACE = UUID("a7c1f3e2-5b94-4d0c-8f61-2e9b7d3c4a58")


def calendar_id(agency: str) -> UUID:
    """One calendar per agency."""
    return uuid5(CALENDAR_NAMESPACE, agency)


class OfficeCalendar(AgencyAggregate):
    """Days the `holidays` package does not know (or gets wrong), per agency."""

    # defined by @event below
    CalendarStarted: ClassVar[type[AgencyAggregate.Created]]
    CalendarDaySet: ClassVar[type[AgencyAggregate.Event]]
    CalendarDayCleared: ClassVar[type[AgencyAggregate.Event]]

    if TYPE_CHECKING:
        days: dict[str, tuple[bool, str]]

    @event("CalendarStarted")
    def __init__(self, *, agency: str) -> None:
        self.agency = agency
        self.days = {}

    @staticmethod
    def create_id(agency: str) -> UUID:
        """Deterministic: the agency's calendar."""
        return calendar_id(agency)

    def set_day(self, *, day: date, working: bool, name: str, by: str, at: datetime) -> None:
        """Declare a day off (or a working day), with its name."""
        self._day_set(day=day.isoformat(), working=working, name=name, by=by, at=at)

    def clear_day(self, *, day: date, by: str, at: datetime) -> None:
        """Withdraw a correction; the package's calendar applies again."""
        if day.isoformat() in self.days:
            self._day_cleared(day=day.isoformat(), by=by, at=at)

    @event("CalendarDaySet")
    def _day_set(self, *, day: str, working: bool, name: str, by: str, at: datetime) -> None:
        self.days = {**self.days, day: (working, name)}

    @event("CalendarDayCleared")
    def _day_cleared(self, *, day: str, by: str, at: datetime) -> None:
        self.days = {key: value for key, value in self.days.items() if key != day}

    def overrides(self) -> tuple[DayOverride, ...]:
        """The corrections, for a WorkingCalendar."""
        return tuple(
            DayOverride(date.fromisoformat(day), working, name)
            for day, (working, name) in sorted(self.days.items())
        )
