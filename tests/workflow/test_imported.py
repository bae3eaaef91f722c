"""A register row becomes a case by its real dates, without walking SOP steps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import Application

from services.workflow.case import Case
from services.workflow.wire import PUBLISHED
from shared.channels import Channel
from shared.events import ComplaintImported, ConsultationImported, SubmissionImported
from shared.sop import Kind
from shared.working_time import WorkingCalendar

WIB = ZoneInfo("Asia/Jakarta")
CALENDAR = WorkingCalendar()
RECEIVED = datetime(2022, 3, 10, tzinfo=WIB)  # a Thursday; 14 working days end 30 March


def row(**fields: Any) -> SubmissionImported:
    values: dict[str, Any] = {
        "case_id": uuid4(),
        "tracking_code": "7K3M-9QXP",
        "kind": Kind.COMPLAINT,
        "channel": Channel.LETTER,
        "received_at": RECEIVED,
    }
    return ComplaintImported(**(values | fields))


def imported(submission: SubmissionImported) -> Case:
    case = Case.import_(submission, agency="dpmptsp-gresik", calendar=CALENDAR)
    app: Application[Any] = Application()
    app.save(case)
    replayed: Case = app.repository.get(case.id)
    return replayed


def test_a_closed_row_is_a_closed_case_at_its_real_date() -> None:
    closed_at = datetime(2022, 3, 30, tzinfo=WIB)
    case = imported(row(outcome="resolved", closed_at=closed_at))
    assert (case.status, case.closed_at, case.current_step) == ("resolved", closed_at, None)
    assert case.imported
    assert case.version == 1
    assert case.deadline_at == datetime(2022, 3, 30, 8, tzinfo=WIB)
    assert case.next_alarm(CALENDAR, (3, 1)) is None


def test_an_open_row_waits_after_submission_and_its_past_raises_no_alarm() -> None:
    case = imported(row())
    assert (case.status, case.current_step, case.closed_at) == (
        "in_progress",
        "identification",
        None,
    )
    assert case.imported
    assert case.next_alarm(CALENDAR, (3, 1)) is None
    case.tick(now=datetime.now(WIB), calendar=CALENDAR, warn_days=(3, 1))
    assert case.collect_events() == []


def test_an_open_row_still_within_its_deadline_is_warned_and_breached_after_import() -> None:
    received = datetime.now(WIB) - timedelta(days=10)  # its step overdue, its deadline ahead
    case = imported(row(received_at=received))
    alarm = case.next_alarm(CALENDAR, (3, 1))
    assert alarm is not None
    assert case.imported_at is not None
    assert alarm > case.imported_at
    case.tick(now=case.deadline_at, calendar=CALENDAR, warn_days=(3, 1))
    raised = [type(event).__name__ for event in case.collect_events()]
    assert raised == ["DeadlineBreached"]


def test_a_rejected_consultation_keeps_its_outcome() -> None:
    submission = ConsultationImported(
        case_id=uuid4(),
        tracking_code="7K3M-9QXP",
        kind=Kind.CONSULTATION,
        channel=Channel.IMPORT,
        source_channel="Faksimili",
        received_at=RECEIVED,
        outcome="rejected",
        closed_at=RECEIVED + timedelta(days=2),
        register_ref="12/2022",
    )
    case = imported(submission)
    assert (case.status, case.kind, case.register_ref) == ("rejected", "consultation", "12/2022")
    assert case.source_channel == "Faksimili"


def test_imported_and_opened_cases_are_distinct_events_on_the_wire() -> None:
    names = {event.__name__ for event in PUBLISHED}
    assert {"CaseOpened", "CaseImported"} <= names
    assert not issubclass(Case.CaseOpened, Case.CaseImported)
