"""Events and forms for tests, built through the real contracts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from shared.channels import Channel
from shared.events import CaseOpened, ComplaintReceived, Contract, Envelope, seal
from shared.events import workflow as wf
from shared.sop import Kind, Role
from shared.tracking_code import new_code


def complaint_received(
    case_id: UUID | None = None,
    *,
    received_at: datetime | None = None,
    channel: Channel = Channel.WEB,
    agency: str = "dpmptsp-gresik",
) -> Envelope:
    """A ComplaintReceived envelope as intake's relay would publish it."""
    case_id = case_id or uuid4()
    at = received_at or datetime.now(UTC)
    data = ComplaintReceived(
        case_id=case_id,
        tracking_code=new_code(),
        kind=Kind.COMPLAINT,
        channel=channel,
        received_at=at,
    )
    return seal(data, subject=case_id, version=1, time=at, agency=agency)


def case_opened(received: Envelope, *, step: str = "identification") -> Envelope:
    """Workflow's CaseOpened for a received complaint."""
    data = received.data
    assert isinstance(data, ComplaintReceived)
    opened = CaseOpened(
        **data.opening(),
        at=data.received_at,
        sop_version="2023.1",
        current_step=step,
        step_due_at=data.received_at,
        deadline_at=data.received_at,
    )
    return seal(
        opened, subject=data.case_id, version=1, time=data.received_at, agency=received.agency
    )


def workflow_event(
    contract: type[Contract], received: Envelope, version: int, at: datetime, **fields: Any
) -> Envelope:
    """A later workflow event of the case a ComplaintReceived opened."""
    data = contract(case_id=received.subject, at=at, **fields)
    return seal(data, subject=received.subject, version=version, time=at, agency=received.agency)


def answered_directly(received: Envelope, answer: str, *, at: datetime) -> list[Envelope]:
    """The three events of a complaint resolved at identification with this public answer."""
    resolved = workflow_event(
        wf.ResolvedDirectly,
        received,
        2,
        at,
        step="identification",
        by_role=Role.TIM_PENGADUAN,
        working_minutes=1.0,
        within_standard=True,
        public_answer=answer,
    )
    return [received, case_opened(received), resolved]
