"""Acceptance: the administrator's calendar correction reaches reporting's working-time figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.settings import Settings
from shared.sop import Role
from shared.working_time import DayOverride, WorkingCalendar
from tests.e2e.office import Office, office
from tests.polling import eventually

FORM = {"text": "Izin usaha saya belum selesai setelah tiga minggu."}
TOLERANCE = 2.0  # minutes: the clock moves while the test waits


def correction(base: WorkingCalendar, due: datetime) -> DayOverride:
    """A correction that moves the working time left before `due`: a working day declared cuti
    bersama, or else a day off declared a working day."""
    now = datetime.now(UTC)
    before = base.working_minutes_between(now, due)
    days = [now.astimezone(base.tz).date() + timedelta(days=n) for n in range(15)]
    flips = [
        DayOverride(day, False, "Cuti bersama")
        if base.is_working_day(day)
        else DayOverride(day, True, "Hari kerja pengganti")
        for day in days
        if day <= due.astimezone(base.tz).date()
    ]
    for flip in sorted(flips, key=lambda flip: flip.working):
        after = base.with_overrides([flip]).working_minutes_between(now, due)
        if abs(after - before) >= 30:
            return flip
    raise AssertionError(f"no single day moves the time left before {due}")


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
