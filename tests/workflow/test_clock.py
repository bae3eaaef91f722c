"""The clock on the real 2026 calendar; each alarm raised once, across kills and two processes."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import datetime
from functools import partial
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from services.workflow.case import Case
from services.workflow.cases import open_cases
from shared.db import ensure_schema
from shared.settings import Settings
from shared.sop import Kind
from shared.working_time import WorkingCalendar
from tests.infrastructure import free_port
from tests.polling import eventually
from tests.system import System, with_free_ports

WIB = ZoneInfo("Asia/Jakarta")
CALENDAR = WorkingCalendar()
WARN = (3, 1)


def complaint(received_at: datetime) -> Case:
    return Case.open(
        case_id=uuid4(),
        agency="dpmptsp-gresik",
        kind=Kind.COMPLAINT,
        tracking_code="7K3M-9QXP",
        channel="web",
        category=None,
        received_at=received_at,
        anonymous=False,
        confidential=False,
        complainant_ref=None,
        calendar=CALENDAR,
    )


def alarms(case: Case, now: datetime) -> list[str]:
    before = len(case.collect_events())
    assert before == 0
    case.tick(now=now, calendar=CALENDAR, warn_days=WARN)
    return [type(event).__name__ for event in case.collect_events()]


def test_deadlines_and_alarms_of_a_complaint_of_17_march_2026() -> None:
    case = complaint(datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    case.collect_events()
    assert case.step_due_at == datetime(2026, 3, 17, 10, 30, tzinfo=WIB)
    assert case.deadline_at == datetime(2026, 4, 14, 10, 0, tzinfo=WIB)
    assert case.next_alarm(CALENDAR, WARN) == case.step_due_at
    assert alarms(case, datetime(2026, 3, 17, 10, 29, tzinfo=WIB)) == []
    assert alarms(case, datetime(2026, 3, 17, 10, 30, tzinfo=WIB)) == ["StepOverdue"]
    assert alarms(case, datetime(2026, 3, 18, 9, 0, tzinfo=WIB)) == []
    # Three working days before Tue 14 Apr 10:00: Thu 9 Apr 10:00 (Fri 10, Mon 13, Tue 14).
    assert case.next_alarm(CALENDAR, WARN) == datetime(2026, 4, 9, 10, 0, tzinfo=WIB)
    assert alarms(case, datetime(2026, 4, 9, 9, 59, tzinfo=WIB)) == []
    assert alarms(case, datetime(2026, 4, 9, 10, 0, tzinfo=WIB)) == ["DeadlineApproaching"]
    assert case.next_alarm(CALENDAR, WARN) == datetime(2026, 4, 13, 10, 0, tzinfo=WIB)
    assert alarms(case, datetime(2026, 4, 13, 10, 0, tzinfo=WIB)) == ["DeadlineApproaching"]
    assert alarms(case, datetime(2026, 4, 14, 10, 0, tzinfo=WIB)) == ["DeadlineBreached"]
    assert alarms(case, datetime(2026, 11, 1, 10, 0, tzinfo=WIB)) == []
    assert case.next_alarm(CALENDAR, WARN) is None


def test_a_late_scan_raises_the_breach_and_no_stale_warnings() -> None:
    case = complaint(datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    case.collect_events()
    assert alarms(case, datetime(2026, 11, 2, 9, 0, tzinfo=WIB)) == [
        "StepOverdue",
        "DeadlineBreached",
    ]


def test_a_scan_that_misses_the_first_warning_gives_only_the_latest() -> None:
    case = complaint(datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    case.tick(now=datetime(2026, 3, 17, 11, 0, tzinfo=WIB), calendar=CALENDAR, warn_days=WARN)
    case.collect_events()
    raised = case.collect_events()
    case.tick(now=datetime(2026, 4, 13, 12, 0, tzinfo=WIB), calendar=CALENDAR, warn_days=WARN)
    raised = case.collect_events()
    assert [(type(e).__name__, getattr(e, "working_days_left", None)) for e in raised] == [
        ("DeadlineApproaching", 1)
    ]
    assert case.next_alarm(CALENDAR, WARN) == case.deadline_at


async def alarm_counts(settings: Settings) -> dict[str, list[int]]:
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        rows = await conn.fetch(
            "SELECT split_part(topic, '.', -1) AS alarm, count(*) AS n FROM workflow.cases_events "
            "WHERE topic LIKE '%StepOverdue' OR topic LIKE '%DeadlineBreached' "
            "GROUP BY originator_id, topic"
        )
    finally:
        await conn.close()
    counts: dict[str, list[int]] = {}
    for row in rows:
        counts.setdefault(row["alarm"], []).append(row["n"])
    return counts


async def metric(system: System, name: str) -> float:
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{system.url('workflow')}/metrics")).text
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[-1])


async def scans(system: System) -> float:
    return await metric(system, "aduan_clock_scans_total")


async def test_alarms_fire_once_each_with_two_processes_and_a_kill_mid_scan(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings).model_copy(update={"clock_scan_seconds": 0.2})
    await ensure_schema(settings, "workflow")
    cases = await asyncio.to_thread(open_cases, settings)
    march = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
    last = complaint(march.replace(hour=10))  # due last: in the scan's last page
    try:
        for _ in range(4):
            builds = [partial(complaint, march) for _ in range(100)]
            await asyncio.to_thread(cases.open, builds)
        await asyncio.to_thread(cases.open, [lambda: last])
    finally:
        cases.close()
    # Hold the last case's clock row: the scan commits its first pages, then waits on it.
    holder = await asyncpg.connect(settings.postgres_dsn())
    hold = holder.transaction()
    await hold.start()
    await holder.execute("SELECT 1 FROM workflow.case_clock WHERE case_id = $1 FOR UPDATE", last.id)
    second = settings.model_copy(update={"workflow_port": free_port()})
    system, twin = System(settings, tmp_path), System(second, tmp_path / "twin")
    (tmp_path / "twin").mkdir()
    try:
        await asyncio.gather(system.start("workflow"), twin.start("workflow"))

        async def first_pages_raised() -> bool:
            return len((await alarm_counts(settings)).get("StepOverdue", [])) >= 400

        assert await eventually(first_pages_raised, within=30)
        scanner = system if await metric(system, "aduan_clock_scanner_active") else twin
        os.kill(scanner.processes["workflow"].pid, signal.SIGKILL)
        await scanner.stop("workflow", kill=True)
        raised_before_kill = len((await alarm_counts(settings)).get("StepOverdue", []))
        assert raised_before_kill < 401  # killed mid-scan: the last page never committed
        await hold.rollback()
        await scanner.start("workflow")

        async def all_raised() -> bool:
            counts = await alarm_counts(settings)
            return all(
                len(counts.get(alarm, [])) == 401 for alarm in ("StepOverdue", "DeadlineBreached")
            )

        assert await eventually(all_raised, within=60)
        marks = [await scans(system), await scans(twin)]

        async def scanned_again() -> bool:
            now = [await scans(system), await scans(twin)]
            return max(after - before for before, after in zip(marks, now, strict=True)) >= 3

        assert await eventually(scanned_again, within=30)
        counts = await alarm_counts(settings)
        assert counts["StepOverdue"] == [1] * 401
        assert counts["DeadlineBreached"] == [1] * 401
    finally:
        await holder.close()
        for running in (system, twin):
            for service in list(running.processes):
                await running.stop(service)
