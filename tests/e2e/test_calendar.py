"""Acceptance: the administrator's calendar correction reaches reporting's working-time figures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from shared.channels import Channel
from shared.settings import Settings
from shared.sop import Kind, Role
from shared.working_time import DayOverride, WorkingCalendar
from tests.e2e.office import Office, office
from tests.e2e.scenario import WIB, Scripted, store
from tests.polling import eventually

FORM = {"text": "Izin usaha saya belum selesai setelah tiga minggu."}
TOLERANCE = 2.0  # minutes: the clock moves while the test waits
MOVED = 5 * TOLERANCE


def correction(base: WorkingCalendar, due: datetime) -> DayOverride:
    """A correction that moves the working time left before `due` by more than the clock
    moves while the test waits: a working day declared cuti bersama, or else a day off declared
    a working day."""
    now = datetime.now(UTC)
    days = [now.astimezone(base.tz).date() + timedelta(days=n) for n in range(15)]
    flips = [
        DayOverride(day, False, "Cuti bersama")
        if base.is_working_day(day)
        else DayOverride(day, True, "Hari kerja pengganti")
        for day in days
        if day <= due.astimezone(base.tz).date()
    ]

    def moved(flip: DayOverride) -> float:
        after = base.with_overrides([flip]).working_minutes_between(now, due)
        return abs(after - base.working_minutes_between(now, due))

    best = max(flips, key=lambda flip: (moved(flip) >= MOVED, not flip.working, moved(flip)))
    assert moved(best) >= MOVED, f"no single day moves the time left before {due}"
    return best


async def worklist_item(place: Office, code: str) -> dict[str, Any] | None:
    answer = await place.reporting.get(
        "/reporting/v1/worklist?role=tim_pengaduan", headers=place.officer(Role.TIM_PENGADUAN)
    )
    items: list[dict[str, Any]] = answer.json()
    return next((item for item in items if item["tracking_code"] == code), None)


async def shows_time_left(
    place: Office, code: str, calendar: WorkingCalendar, due: datetime
) -> bool:
    item = await worklist_item(place, code)
    expected = calendar.working_minutes_between(datetime.now(UTC), due)
    return item is not None and abs(item["working_minutes_left"] - expected) <= TOLERANCE


async def test_a_calendar_correction_changes_the_worklist_time_left(settings: Settings) -> None:
    async with office(settings) as place:
        answer = await place.intake.http.post("/intake/v1/complaints", json=FORM)
        assert answer.status_code == 201, answer.text
        code = answer.json()["tracking_code"]
        item = await eventually(lambda: worklist_item(place, code), within=15)
        assert item is not None
        due = datetime.fromisoformat(item["step_due_at"])
        base = place.settings.working_calendar()
        assert await eventually(lambda: shows_time_left(place, code, base, due), within=5)

        flip = correction(base, due)
        admin = place.officer(Role.ADMIN)
        body = {"working": flip.working, "name": flip.name}
        path = f"/workflow/v1/calendar/days/{flip.day.isoformat()}"
        assert (await place.workflow.put(path, json=body, headers=admin)).status_code == 200
        corrected = base.with_overrides([flip])
        assert await eventually(lambda: shows_time_left(place, code, corrected, due), within=15)

        assert (await place.workflow.delete(path, headers=admin)).status_code == 200
        assert await eventually(lambda: shows_time_left(place, code, base, due), within=15)


async def compliance_minutes(place: Office, step: str) -> float | None:
    year = datetime.now(WIB).year
    rows = (await place.reporting.get(f"/reporting/v1/compliance?year={year}")).json()
    return next((row["median_minutes"] for row in rows if row["step"] == step), None)


async def test_a_past_day_declared_cuti_bersama_changes_the_affected_case_figures(
    settings: Settings,
) -> None:
    """A complaint received ten days ago waits at identification (overdue). A working day
    since then declared cuti bersama: its time left and, once it is done, the working time the
    recap counts for its step both leave that day out."""
    received = datetime.combine(datetime.now(WIB).date() - timedelta(days=10), time(10), WIB)
    case = Scripted(received, Channel.WEB, Kind.COMPLAINT, "open")
    async with office(settings) as place:
        (case_id,) = await asyncio.to_thread(store, place.settings, [case])
        code = await eventually(lambda: tracking_code(place, case_id), within=15)
        assert code is not None
        item = await eventually(lambda: worklist_item(place, code), within=15)
        assert item is not None
        due = datetime.fromisoformat(item["step_due_at"])
        base = place.settings.working_calendar()
        today = datetime.now(WIB).date()
        day = next(
            due.astimezone(WIB).date() + timedelta(days=n)
            for n in range(1, 10)
            if base.is_working_day(due.astimezone(WIB).date() + timedelta(days=n))
        )
        assert day < today, "the script needs a working day between due and today"
        corrected = base.with_overrides([DayOverride(day, False, "Cuti bersama")])
        now = datetime.now(UTC)
        moved = base.working_minutes_between(now, due) - corrected.working_minutes_between(now, due)
        assert abs(moved) >= 480
        assert await eventually(lambda: shows_time_left(place, code, base, due), within=5)

        admin = place.officer(Role.ADMIN)
        body = {"working": False, "name": "Cuti bersama"}
        put = await place.workflow.put(
            f"/workflow/v1/calendar/days/{day}", json=body, headers=admin
        )
        assert put.status_code == 200, put.text
        assert await eventually(lambda: shows_time_left(place, code, corrected, due), within=15)

        tim = place.officer(Role.TIM_PENGADUAN)
        version = (await place.workflow.get(f"/workflow/v1/cases/{case_id}", headers=tim)).json()
        done = await place.workflow.post(
            f"/workflow/v1/cases/{case_id}/identification/escalate",
            json={"version": version["version"], "note": "Naik."},
            headers=tim,
        )
        assert done.status_code == 200, done.text
        expected = corrected.working_minutes_between(received, datetime.now(UTC))
        assert expected <= base.working_minutes_between(received, datetime.now(UTC)) - 480

        async def counted() -> bool:
            minutes = await compliance_minutes(place, "identification")
            return minutes is not None and abs(minutes - expected) <= TOLERANCE

        assert await eventually(counted, within=15), await compliance_minutes(
            place, "identification"
        )


async def tracking_code(place: Office, case_id: UUID) -> str | None:
    rows = await place.intake.fetch(
        "SELECT tracking_code FROM intake.submission_index WHERE case_id = $1", case_id
    )
    return str(rows[0]["tracking_code"]) if rows else None
