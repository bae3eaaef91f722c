"""What reporting publishes: that the monthly recap (SOP step 7) was produced."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime

from shared.events.envelope import Contract


class RekapPublished(Contract):
    """The recap of a month is ready (subject: the recap's id); produced again on demand."""

    name: ClassVar[str] = "RekapPublished"
    producer: ClassVar[str] = "reporting"

    year: int
    month: int
    produced_at: AwareDatetime
    trigger: str  # "scheduled" or "on_demand"
    complaints: int
    consultations: int
    document_id: str


class RekapRevised(RekapPublished):
    """A month's recap was produced again (with the figures as they are now): on demand, or
    by the schedule when entries recorded late changed a month already published."""

    name: ClassVar[str] = "RekapRevised"
