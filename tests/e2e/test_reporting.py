"""Acceptance: the rekap, compliance and the multi-year table match a scripted year; rebuild."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.reporting.rebuild import rebuild
from shared.settings import Settings
from tests.e2e.scenario import WIB, expected_rekap, expected_steps, script, store, walk
from tests.polling import eventually
from tests.system import running, with_free_ports

GROUPS = "year,month,channel,kind,status,timeliness"


async def rekap_counts(http: httpx.AsyncClient) -> Counter[tuple[Any, ...]]:
    rows = (await http.get("/reporting/v1/rekap", params={"group_by": GROUPS})).json()["rows"]
    return Counter({tuple(row[dim] for dim in GROUPS.split(",")): row["count"] for row in rows})


async def test_a_scripted_year_gives_the_rekap_counted_from_the_script(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings)
    cases = script(60, recent=6)
    expected = expected_rekap(cases)
    async with running(settings, tmp_path) as system:
        case_ids = await asyncio.to_thread(store, settings, cases)
        await walk(settings, system.url("workflow"), case_ids, cases)
        async with httpx.AsyncClient(base_url=system.url("reporting"), timeout=10) as http:

            async def settled() -> bool:
                return await rekap_counts(http) == expected

            assert await eventually(settled, within=60), (await rekap_counts(http), expected)
            table = (await http.get("/reporting/v1/rekap/years?from=2025&to=2026")).json()
            by_month: Counter[tuple[int, int]] = Counter()
            for (year_, month, *_), count in expected.items():
                by_month[(year_, month)] += count
            for row in table["rows"]:
                for year, counted in row["counts"].items():
                    assert counted == by_month[(int(year), row["month"])], (year, row["month"])
            assert table["total"] == len(cases)
            assert table["totals"]["2025"] == sum(n for (y, *_), n in expected.items() if y == 2025)
            this_year = datetime.now(WIB).year
            compliance = (await http.get(f"/reporting/v1/compliance?year={this_year}")).json()
            done = {row["step"]: row for row in compliance}
            for step, (count, within) in expected_steps(cases).items():
                assert done[step]["count"] == count, step
                assert round(done[step]["within_standard_share"] * count) == within, step
            escalated = sum(1 for case in cases if case.path == "bkpm")
            months = (await http.get("/reporting/v1/consultations?year=2025")).json()
            months += (await http.get("/reporting/v1/consultations?year=2026")).json()
            assert sum(row["escalated_to_bkpm"] for row in months) == escalated


TABLES = {
    "case_summary": "case_id",
    "rekap": "agency, year, month, channel, kind, category, status, timeliness",
    "step_times": "case_id, version",
    "case_history": "case_id, source, version",
    "surveys": "case_id",
    "calendar_days": "agency, day",
    "stream_positions": "source, subject",
}


async def tables(settings: Settings, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        return {
            table: [
                tuple(r)
                for r in await conn.fetch(f'SELECT * FROM "{schema}".{table} ORDER BY {key}')
            ]
            for table, key in TABLES.items()
        }
    finally:
        await conn.close()


async def test_rebuild_equals_live_row_by_row(settings: Settings, tmp_path: Path) -> None:
    settings = with_free_ports(settings)
    cases = script(30, recent=3, seed=11)
    async with running(settings, tmp_path) as system:
        case_ids = await asyncio.to_thread(store, settings, cases)
        await walk(settings, system.url("workflow"), case_ids, cases)
        async with httpx.AsyncClient(base_url=system.url("reporting"), timeout=10) as http:

            async def settled() -> bool:
                return await rekap_counts(http) == expected_rekap(cases)

            assert await eventually(settled, within=60)
        live = await tables(settings, "reporting")

        async def quiet() -> bool:  # nothing more arriving (the recap, the clock's alarms)
            before = live_now = await tables(settings, "reporting")
            await asyncio.sleep(0.5)
            return bool(before == await tables(settings, "reporting") and live_now)

        await eventually(quiet, within=30)
        live = await tables(settings, "reporting")
        report = await rebuild(settings, swap_in=False)
        assert report.cases == len(cases)
        assert await tables(settings, report.schema) == live


async def test_rebuilding_while_submissions_flow_loses_none(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings).model_copy(update={"rate_ip_per_minute": 10_000})
    async with running(settings, tmp_path) as system:
        intake = httpx.AsyncClient(base_url=system.url("intake"), timeout=30)
        reporting = httpx.AsyncClient(base_url=system.url("reporting"), timeout=30)
        posted, answered, failed = 0, 0, 0
        done = asyncio.Event()

        async def submit() -> None:
            nonlocal posted
            for number in range(150):
                form = {"text": f"Pengaduan nomor {number} saat rekap dibangun ulang."}
                answer = await intake.post("/intake/v1/complaints", json=form)
                assert answer.status_code == 201
                posted += 1
            done.set()

        async def read_meanwhile() -> None:
            nonlocal answered, failed
            while not done.is_set():
                status = (await reporting.get("/reporting/v1/rekap")).status_code
                answered, failed = answered + (status == 200), failed + (status != 200)
                await asyncio.sleep(0.02)

        async def rebuild_during() -> None:
            await eventually(lambda: _more_than(posted, 20), within=30)
            await rebuild(settings, swap_in=True)

        await asyncio.gather(submit(), read_meanwhile(), rebuild_during())

        async def all_counted() -> bool:
            return bool((await reporting.get("/reporting/v1/rekap")).json()["total"] == posted)

        assert await eventually(all_counted, within=30)
        await intake.aclose()
        await reporting.aclose()
        side = await rebuild(settings, swap_in=False)
    assert failed == 0
    assert answered > 0
    assert side.cases == posted


async def _more_than(value: int, floor: int) -> bool:
    return value > floor


async def test_a_rebuild_that_cannot_read_its_producers_leaves_no_schema(
    settings: Settings,
) -> None:
    settings = with_free_ports(settings)  # nothing listens there: the producers are away
    with pytest.raises(httpx.ConnectError):
        await rebuild(settings)
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        left = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'reporting_rebuild_%'"
        )
    finally:
        await conn.close()
    assert left == []
