"""Workflow's stored events, mapped to the wire contracts."""

from __future__ import annotations

from typing import Any

from services.workflow.case import Case
from shared.events import CaseOpened, Contract
from shared.relay import Wire


def _opened(event: Any) -> Contract:
    return CaseOpened(
        case_id=event.originator_id,
        kind=event.kind,
        tracking_code=event.tracking_code,
        channel=event.channel,
        category=event.category,
        received_at=event.received_at,
        anonymous=event.anonymous,
        confidential=event.confidential,
        sop_version=event.sop_version,
        current_step=event.current_step,
    )


WIRE: Wire = {
    Case.CaseOpened: _opened,
}
