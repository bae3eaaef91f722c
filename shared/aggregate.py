"""The aggregate base both event stores use: every event carries the agency it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate


class AgencyAggregate(Aggregate):
    """An aggregate owned by one agency (instansi); each of its events records which."""

    class Event(Aggregate.Event):
        agency: str

    class Created(Event, Aggregate.Created):
        pass

    if TYPE_CHECKING:  # set by each aggregate's creation event
        agency: str

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        """Stamp the agency on every event after creation."""
        kwargs.setdefault("agency", self.agency)
        super().trigger_event(event_class, **kwargs)
