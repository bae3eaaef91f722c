"""Intake applies each of workflow's events once, whichever consumer has it: a batch the broker
hands to a second consumer while the first (which lost its broker) still commits it is
applied by one of them; an event older than what intake heard of the case changes nothing."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.intake.inbound import _handle
from services.intake.inbox import Inbox
from services.intake.records import Rows
from services.intake.store import SubmissionRecorder
from shared.events import Envelope, seal
from shared.events import workflow as wf
from shared.sop import Role
from tests.intake.conftest import Desk
from tests.polling import eventually

FORM = {"text": "Izin usaha belum terbit setelah tiga minggu."}


async def submitted(desk: Desk) -> UUID:
    answer = await desk.http.post("/intake/v1/complaints", json=FORM)
    assert answer.status_code == 201, answer.text
    [row] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    case_id: UUID = row["case_id"]
    return case_id


def escalated(case_id: UUID, version: int, *, to: str) -> Envelope:
    """Workflow moved the case on to step `to` (its event at `version`)."""
    at = datetime.now(UTC)
    data = wf.Escalated(
        case_id=case_id,
        at=at,
        by_role=Role.TIM_PENGADUAN,
        step="identification",
        working_minutes=5.0,
        within_standard=True,
        next_step=to,
    )
    return seal(data, subject=case_id, version=version, time=at, agency="dpmptsp-gresik")


async def step_of(desk: Desk, case_id: UUID) -> Any:
    [row] = await desk.fetch("SELECT step FROM intake.case_steps WHERE case_id = $1", case_id)
    return row["step"]


async def test_a_batch_two_consumers_have_at_once_is_followed_once(desk: Desk) -> None:
    case_id = await submitted(desk)
    inbox: Inbox = desk.app.state.inbox
    recorder = inbox.submissions.recorder
    assert isinstance(recorder, SubmissionRecorder)
    batch = [escalated(case_id, 2, to="verification")]
    inside, release = threading.Event(), threading.Event()
    built: list[list[Envelope]] = []

    def first_rows(fresh: list[Envelope]) -> Rows:  # the first consumer, held mid-transaction
        built.append(fresh)
        inside.set()
        assert release.wait(10)
        return Rows(steps=[(case_id, "verification")])

    def second_rows(fresh: list[Envelope]) -> Rows:
        built.append(fresh)
        return Rows(steps=[(case_id, "verification")])

    first = asyncio.create_task(asyncio.to_thread(recorder.follow, batch, first_rows))
    assert await asyncio.to_thread(inside.wait, 10)
    second = asyncio.create_task(asyncio.to_thread(recorder.follow, batch, second_rows))
    await eventually(lambda: _waiting(desk), within=5)  # for the first's commit
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert built == [batch, []]  # the second found the batch applied


async def test_an_event_older_than_the_case_heard_changes_nothing(desk: Desk) -> None:
    case_id = await submitted(desk)
    inbox: Inbox = desk.app.state.inbox
    _handle(inbox, [escalated(case_id, 2, to="verification")])
    _handle(inbox, [escalated(case_id, 3, to="kabid")])
    assert await step_of(desk, case_id) == "kabid"
    _handle(inbox, [escalated(case_id, 2, to="verification")])  # committed late by another
    assert await step_of(desk, case_id) == "kabid"


async def _waiting(desk: Desk) -> bool:
    rows = await desk.fetch("SELECT count(*) AS n FROM pg_locks WHERE NOT granted")
    return bool(rows[0]["n"])
