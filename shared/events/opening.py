"""The facts a case opens with: said alike by every event that opens one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import AwareDatetime

from shared.channels import Channel
from shared.events.envelope import Contract
from shared.sop import Kind


class Opening(Contract):
    """What a case is, how and when it came, and how private it is: the same fields in
    intake's received and imported submissions and in workflow's CaseOpened and CaseImported.
    """

    case_id: UUID
    tracking_code: str
    kind: Kind
    channel: Channel  # for an imported case: Channel.IMPORT when the register's is not ours
    category: str | None = None  # one of shared/categories.py
    received_at: AwareDatetime  # for an imported case: the register's date, in office time
    anonymous: bool = False
    confidential: bool = False

    def opening(self) -> dict[str, Any]:
        """The opening facts alone, by field name: to open a case (or a case row) with."""
        return {name: getattr(self, name) for name in OPENING_FACTS}


OPENING_FACTS: tuple[str, ...] = tuple(Opening.model_fields)
"""The names of the opening facts, in the contracts' order."""
