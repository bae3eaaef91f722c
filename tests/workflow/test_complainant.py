"""The complainant's replies and disputes on the aggregate itself (no servers): by the SOP's
rules, each taken in once, the complainant never acting beyond what the table lets them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.workflow.case import Case
from services.workflow.case.aggregate import complainant
from services.workflow.rules import Moment, NotAnOfficer
from shared.sop import Kind, Officer, Role
from shared.working_time import WorkingCalendar

AGENCY = "dpmptsp-gresik"
CALENDAR = WorkingCalendar()
RECEIVED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in Gresik
TEAM = Officer("tim-1", "Rina", frozenset({Role.TIM_PENGADUAN}), AGENCY)
WINDOW = 10


def complaint() -> Case:
    return Case.open(
        case_id=uuid4(),
        agency=AGENCY,
        kind=Kind.COMPLAINT,
        tracking_code="7K3M-9QXP",
        channel="web",
        category=None,
        received_at=RECEIVED,
        anonymous=True,
        confidential=False,
        complainant_ref=None,
        calendar=CALENDAR,
    )


def waiting() -> Case:
    case = complaint()
    at = RECEIVED + timedelta(hours=1)
    case.request_information(reason="r", message="Kirim foto.", by=TEAM, at=at)
    return case


def answered(at: datetime) -> Case:
    case = complaint()
    case.complete("identification/resolve", by=TEAM, at=at, calendar=CALENDAR, answer="a")
    return case


def test_a_reply_while_waiting_is_the_information_received_with_the_pause_moved() -> None:
    case = waiting()
    deadline = case.deadline_at
    at = RECEIVED + timedelta(hours=3)  # two working hours later
    assert case.hear_reply(heard=3, note="n", at=at, calendar=CALENDAR)
    event = case.collect_events()[-1]
    assert isinstance(event, Case.InformationReceived)
    assert event.role == Role.PEMOHON.value
    assert event.paused_minutes == 120
    assert case.paused_at is None
    assert case.deadline_at == CALENDAR.add(deadline, timedelta(hours=2))


def test_a_reply_not_awaited_is_a_note_and_a_repeat_changes_nothing() -> None:
    case = complaint()
    at = RECEIVED + timedelta(hours=1)
    assert case.hear_reply(heard=2, note="n", at=at, calendar=CALENDAR)
    assert not case.hear_reply(heard=2, note="n", at=at, calendar=CALENDAR)
    notes = [e for e in case.collect_events() if isinstance(e, Case.NoteAdded)]
    assert [(n.role, n.heard) for n in notes] == [(Role.PEMOHON.value, 2)]


def test_an_earlier_reply_replayed_after_a_later_one_is_taken_in_once() -> None:
    """A reply dead-lettered, then requeued after the next one was handled, still counts."""
    case = complaint()
    at = RECEIVED + timedelta(hours=1)
    assert case.hear_reply(heard=3, note="later", at=at, calendar=CALENDAR)
    assert case.hear_reply(heard=2, note="earlier", at=at, calendar=CALENDAR)
    assert not case.hear_reply(heard=2, note="earlier", at=at, calendar=CALENDAR)
    assert not case.hear_reply(heard=3, note="later", at=at, calendar=CALENDAR)
    events = case.collect_events()
    notes = [e for e in events if isinstance(e, Case.NoteAdded)]
    assert [n.heard for n in notes] == [3, 2]
    reloaded = None
    for event in events:  # the case as loaded from its stored events
        reloaded = event.mutate(reloaded)
    assert isinstance(reloaded, Case)
    assert not reloaded.hear_reply(heard=2, note="earlier", at=at, calendar=CALENDAR)
    assert reloaded.hear_reply(heard=4, note="next", at=at, calendar=CALENDAR)


def test_belum_within_the_window_reopens_at_the_step_the_sop_names() -> None:
    case = answered(RECEIVED + timedelta(hours=1))
    moment = Moment(RECEIVED + timedelta(days=1), CALENDAR, WINDOW)
    assert case.hear_dispute(heard=4, notes=("r", "n"), moment=moment)
    assert case.is_open
    back_to = case.sop.after(case.sop.first.id)
    assert back_to is not None
    assert case.current_step == back_to.id


def test_belum_beyond_the_window_is_a_note_for_an_officer_to_decide() -> None:
    case = answered(RECEIVED + timedelta(hours=1))
    moment = Moment(RECEIVED + timedelta(days=60), CALENDAR, WINDOW)
    assert case.hear_dispute(heard=4, notes=("r", "n"), moment=moment)
    assert not case.is_open
    assert isinstance(case.collect_events()[-1], Case.NoteAdded)


def test_the_complainant_takes_no_officers_step() -> None:
    case = complaint()
    at = RECEIVED + timedelta(hours=1)
    with pytest.raises(NotAnOfficer):
        case.complete(
            "identification/resolve", by=complainant(AGENCY), at=at, calendar=CALENDAR, answer="a"
        )
    with pytest.raises(NotAnOfficer):
        case.request_information(reason="r", by=complainant(AGENCY), at=at)
