"""The case aggregate: one complaint or consultation walking through its SOP."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import event

from shared.aggregate import AgencyAggregate
from shared.sop import Kind, Sop, sop_for


class Case(AgencyAggregate):
    """A case follows the SOP version it was opened under; its id is the submission's."""

    CaseOpened: ClassVar[type[AgencyAggregate.Created]]  # defined by @event below

    @event("CaseOpened")
    def __init__(
        self,
        *,
        id: UUID,
        agency: str,
        kind: str,
        tracking_code: str,
        channel: str,
        category: str | None,
        received_at: datetime,
        anonymous: bool,
        confidential: bool,
        complainant_ref: UUID | None,
        sop_version: str,
        current_step: str,
    ) -> None:
        self.agency, self.kind, self.tracking_code = agency, kind, tracking_code
        self.channel, self.category, self.received_at = channel, category, received_at
        self.anonymous, self.confidential = anonymous, confidential
        self.complainant_ref = complainant_ref
        self.sop_version, self.current_step = sop_version, current_step

    @property
    def sop(self) -> Sop:
        """The SOP table this case follows."""
        return sop_for(Kind(self.kind), self.sop_version)
