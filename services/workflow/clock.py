"""The case clock: a step past its time standard, the deadline coming, the deadline passed.

Each alarm becomes an event once per case and step: the aggregate remembers what it has
raised, and concurrent scanners meet at the event store's version check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.workflow.casework import Casework
from shared.aggregate import AgencyAggregate
from shared.working_time import WorkingCalendar


class Clocked(Casework):
    """Alarms from the case's due times."""

    class StepOverdue(AgencyAggregate.Event):
        """The current step ran past its time standard."""

        step: str
        due_at: datetime
        at: datetime

        def apply(self, aggregate: Any) -> None:
            """Remember it was raised."""
            aggregate.overdue_steps = [*aggregate.overdue_steps, self.step]

    class DeadlineApproaching(AgencyAggregate.Event):
        """Only so many working days are left before the case deadline."""

        step: str | None
        working_days_left: int
        covers: list[int]
        deadline_at: datetime
        at: datetime

        def apply(self, aggregate: Any) -> None:
            """Remember the warnings this one stands for (a late scan gives only the latest)."""
            aggregate.warned_days = [*aggregate.warned_days, *self.covers]

    class DeadlineBreached(AgencyAggregate.Event):
        """The case is still open past its deadline (14 working days for a complaint)."""

        step: str | None
        deadline_at: datetime
        at: datetime

        def apply(self, aggregate: Any) -> None:
            """Remember the breach."""
            aggregate.breached = True

    def _warnings(
        self, calendar: WorkingCalendar, warn_days: tuple[int, ...]
    ) -> dict[int, datetime]:
        """When each pending warning is due: that many working days before the deadline."""
        return {
            days: calendar.add(self.deadline_at, -days * calendar.day_length)
            for days in sorted(set(warn_days), reverse=True)
            if days not in self.warned_days
        }

    def next_alarm(self, calendar: WorkingCalendar, warn_days: tuple[int, ...]) -> datetime | None:
        """The earliest moment an alarm is due, or None while nothing can fall due."""
        if not self.is_open or self.paused_at is not None:
            return None
        moments = []
        if self.step_due_at is not None and self.current_step not in self.overdue_steps:
            moments.append(self.step_due_at)
        if not self.breached:
            moments += [*self._warnings(calendar, warn_days).values(), self.deadline_at]
        return min(moments, default=None)

    def tick(self, *, now: datetime, calendar: WorkingCalendar, warn_days: tuple[int, ...]) -> None:
        """Raise every alarm due by `now` that was not raised yet; warnings only before the end."""
        if not self.is_open or self.paused_at is not None:
            return
        step = self.current_step
        if step and self.step_due_at and now >= self.step_due_at and step not in self.overdue_steps:
            self.trigger_event(self.StepOverdue, step=step, due_at=self.step_due_at, at=now)
        if self.breached:
            return
        if now >= self.deadline_at:
            self.trigger_event(
                self.DeadlineBreached, step=step, deadline_at=self.deadline_at, at=now
            )
            return
        due = sorted(days for days, at in self._warnings(calendar, warn_days).items() if now >= at)
        if due:
            self.trigger_event(
                self.DeadlineApproaching,
                step=step,
                working_days_left=due[0],
                covers=due,
                deadline_at=self.deadline_at,
                at=now,
            )
