"""The projection as pure functions: (row or None, event) -> row. Live and rebuild share them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from shared.events import (
    CaseOpened,
    ComplaintReceived,
    ConsultationReceived,
    Contract,
    Envelope,
    SubmissionReceived,
)
from shared.sop import Status


@dataclass(frozen=True)
class CaseRow:
    """One case as reporting sees it; the columns of case_summary."""

    case_id: UUID
    agency: str
    tracking_code: str
    kind: str
    channel: str
    category: str | None
    received_at: datetime
    status: str
    current_step: str | None
    sop_version: str | None
    anonymous: bool
    confidential: bool

    def bucket(self, tz: ZoneInfo) -> tuple[str, int, int, str, str, str, str]:
        """The rekap row this case counts in: month in the office's time zone."""
        local = self.received_at.astimezone(tz)
        category = self.category or ""
        return (
            self.agency,
            local.year,
            local.month,
            self.channel,
            self.kind,
            category,
            self.status,
        )


COLUMNS = tuple(field.name for field in dataclasses.fields(CaseRow))


def _received(row: CaseRow | None, envelope: Envelope) -> CaseRow:
    if row is not None:  # workflow's CaseOpened came first; intake never changes status
        return row
    data = envelope.data
    assert isinstance(data, SubmissionReceived)
    return CaseRow(
        case_id=data.case_id,
        agency=envelope.agency,
        tracking_code=data.tracking_code,
        kind=data.kind.value,
        channel=data.channel.value,
        category=data.category,
        received_at=data.received_at,
        status=Status.RECEIVED.value,
        current_step=None,
        sop_version=None,
        anonymous=data.anonymous,
        confidential=data.confidential,
    )


def _opened(row: CaseRow | None, envelope: Envelope) -> CaseRow:
    data = envelope.data
    assert isinstance(data, CaseOpened)
    opened = CaseRow(
        case_id=data.case_id,
        agency=envelope.agency,
        tracking_code=data.tracking_code,
        kind=data.kind.value,
        channel=data.channel.value,
        category=data.category,
        received_at=data.received_at,
        status=Status.IN_PROGRESS.value,
        current_step=data.current_step,
        sop_version=data.sop_version,
        anonymous=data.anonymous,
        confidential=data.confidential,
    )
    return (
        opened
        if row is None
        else dataclasses.replace(
            row,
            status=opened.status,
            current_step=opened.current_step,
            sop_version=data.sop_version,
        )
    )


Projector = Callable[[CaseRow | None, Envelope], CaseRow]

PROJECTORS: dict[type[Contract], Projector] = {
    ComplaintReceived: _received,
    ConsultationReceived: _received,
    CaseOpened: _opened,
}


def row_values(row: CaseRow) -> tuple[Any, ...]:
    """The row's values in column order."""
    return dataclasses.astuple(row)
