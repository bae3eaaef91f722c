"""Erasure on the workflow side: when intake erases a person, the case forgets them too.

The case key (workflow.case_keys) sealed everything officers wrote about the case; destroying
it in the transaction that records `CaseDataErased` leaves that text unreadable forever.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.aggregate import AgencyAggregate


class Erasable(AgencyAggregate):
    """A case whose officer-written text can be erased with its key."""

    if TYPE_CHECKING:
        data_erased_at: datetime | None

    class CaseDataErased(AgencyAggregate.Event):
        """The case key was destroyed: notes, answers and files read "data dihapus"."""

        at: datetime

        def apply(self, aggregate: Any) -> None:
            """Remember when."""
            aggregate.data_erased_at = self.at

    def erase_data(self, *, at: datetime) -> bool:
        """Record the erasure once; whether it was recorded now."""
        if getattr(self, "data_erased_at", None) is not None:
            return False
        self.trigger_event(self.CaseDataErased, at=at)
        return True
