"""A case moved to another agency (transferred, or declined to the province's queue) waits in
the read model where workflow has it: at the step it was handed over at, under that step's time,
so that it is in the worklist of the role who acts next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.reporting.working_set import WorkingSet
from shared.events import Envelope, seal
from shared.events import workflow as wf
from shared.sop import PROVINCE, Role
from tests.reporting.test_officer_names import project
from tests.samples import case_opened, complaint_received, workflow_event

AT = datetime(2026, 11, 30, 3, tzinfo=UTC)
B = "dinas-pu"


def escalated_then_late(received: Envelope) -> list[Envelope]:
    """Escalated to verification (Kabid's), then past that step's time and the deadline."""
    escalated = workflow_event(
        wf.Escalated,
        received,
        2,
        AT,
        step="identification",
        by_role=Role.TIM_PENGADUAN,
        working_minutes=5.0,
        within_standard=True,
        next_step="verification",
    )
    overdue = workflow_event(wf.StepOverdue, received, 3, AT, step="verification", due_at=AT)
    breached = workflow_event(wf.DeadlineBreached, received, 4, AT, deadline_at=AT)
    return [received, case_opened(received), escalated, overdue, breached]


def moved(received: Envelope, contract: type[wf.CaseTransferred], to: str) -> Envelope:
    data = contract(
        case_id=received.subject,
        at=AT + timedelta(days=1),
        step="verification",
        by_role=Role.KOORDINATOR,
        from_agency=received.agency,
        to_agency=to,
        current_step="identification",
        step_due_at=AT + timedelta(days=2),
        deadline_at=AT + timedelta(days=20),
        deadline_restarted=True,
    )
    return seal(data, subject=received.subject, version=5, time=data.at, agency=to)


@pytest.mark.parametrize(("contract", "to"), [(wf.CaseTransferred, B), (wf.CaseDeclined, PROVINCE)])
def test_a_moved_case_waits_at_the_step_it_was_handed_over_at(
    contract: type[wf.CaseTransferred], to: str
) -> None:
    received = complaint_received(received_at=AT)
    events = [*escalated_then_late(received), moved(received, contract, to)]
    live = project(events)
    assert live.agency == to
    assert live.current_step == "identification"  # Tim Pengaduan's worklist, not Kabid's
    assert live.step_due_at == AT + timedelta(days=2)
    assert live.deadline_at == AT + timedelta(days=20)
    assert live.overdue is False
    assert live.breached is False  # the move restarted the deadline
    working = WorkingSet(ZoneInfo("Asia/Jakarta"))
    for envelope in events:
        working.apply(envelope)
    assert working.cases[received.subject] == live  # a rebuild gives the same row


def test_a_move_that_keeps_the_deadline_keeps_it_breached() -> None:
    received = complaint_received(received_at=AT)
    kept = moved(received, wf.CaseTransferred, B)
    kept = seal(
        kept.data.model_copy(update={"deadline_restarted": False, "deadline_at": AT}),
        subject=kept.subject,
        version=5,
        time=kept.time,
        agency=B,
    )
    row = project([*escalated_then_late(received), kept])
    assert (row.current_step, row.overdue, row.breached) == ("identification", False, True)
