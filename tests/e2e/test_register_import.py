"""Acceptance of the register import: a messy register's dry run names exactly the wrong rows,
the import brings in every valid row once and the rekap counts them by their real months;
importing again (or an overlapping file) adds nothing twice; a killed import completes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from openpyxl import Workbook

from services.intake.register.importer import Store, read
from services.intake.register.labels import load_mapping
from services.intake.register.report import Report
from services.reporting.rebuild import rebuild
from shared.settings import Settings
from tests.e2e.test_reporting import tables
from tests.infrastructure import environment
from tests.intake.registers import CLOSED, STATUS, TEXT, Register, clean, combined, messy, monthly
from tests.polling import eventually
from tests.system import running, with_free_ports

ROOT = Path(__file__).resolve().parents[2]
GROUPS = "year,month,kind,channel,status"


async def start_import(settings: Settings, *args: object) -> asyncio.subprocess.Process:
    """`python -m services.intake import ...` as the office runs it."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.intake",
        "import",
        *map(str, args),
        "--no-progress",
        cwd=ROOT,
        env=os.environ | environment(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_import(settings: Settings, path: Path, *args: object) -> dict[str, Any]:
    """Run an import to its end; its JSON report (with the exit code and the printed lines)."""
    report = path.with_suffix(f".{len(list(path.parent.iterdir()))}.json")
    process = await start_import(settings, path, "--report", report, *args)
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode in (0, 1), err.decode()
    result: dict[str, Any] = json.loads(report.read_text())
    return result | {"exit": process.returncode, "lines": out.decode().splitlines()}


async def fetch(settings: Settings, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def stored(settings: Settings) -> tuple[int, int]:
    """Submission events stored, and distinct submissions among them (0, 0 before any)."""
    try:
        rows = await fetch(
            settings,
            "SELECT count(*) AS events, count(DISTINCT originator_id) AS cases "
            "FROM intake.submissions_events",
        )
    except asyncpg.UndefinedTableError:
        return 0, 0
    return int(rows[0]["events"]), int(rows[0]["cases"])


def codes_by_row(report: dict[str, Any]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for issue in report["issues"]:
        found.setdefault(issue["row"], set()).add(issue["code"])
    return found


async def rekap_counts(http: httpx.AsyncClient) -> Counter[tuple[Any, ...]]:
    answer = await http.get("/reporting/v1/rekap", params={"group_by": GROUPS})
    rows = answer.json()["rows"]
    return Counter({tuple(row[dim] for dim in GROUPS.split(",")): row["count"] for row in rows})


async def test_a_messy_register_is_checked_then_imported_into_the_rekap_by_real_months(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings)
    register = messy(3000)
    path = register.write_xlsx(tmp_path / "register.xlsx")
    expected_codes = {planned.row: planned.codes for planned in register.rows if planned.codes}

    dry = await run_import(settings, path, "--dry-run")
    assert dry["exit"] == 1
    assert codes_by_row(dry) == expected_codes
    rejected = {issue["row"] for issue in dry["issues"] if issue["rejected"]}
    assert rejected == {planned.row for planned in register.expected("reject")}
    assert await stored(settings) == (0, 0)

    async with running(settings, tmp_path) as system:
        done = await run_import(settings, path)
        valid = len(register.expected("import"))
        assert (done["imported"], done["already"], done["valid"]) == (valid, 0, valid)
        assert codes_by_row(done) == expected_codes
        assert await stored(settings) == (valid, valid)
        async with httpx.AsyncClient(base_url=system.url("reporting"), timeout=30) as http:
            expected = register.rekap()

            async def counted() -> bool:
                return await rekap_counts(http) == expected

            assert await eventually(counted, within=240, interval=1), await rekap_counts(http)
            await assert_years_table(http, register)
            answer = await http.get("/reporting/v1/rekap", params={"group_by": "category"})
            by_category = {row["category"]: row["count"] for row in answer.json()["rows"]}
            expected_categories = {key or "": n for key, n in register.categories().items()}
            assert by_category == expected_categories  # the register's own labels included
            assert {"Tata ruang", "Reklame"} <= set(by_category)


async def assert_years_table(http: httpx.AsyncClient, register: Register) -> None:
    """The office's multi-year table: each case in the month the register received it."""
    table = (await http.get("/reporting/v1/rekap/years?from=2021&to=2023")).json()
    by_month: Counter[tuple[int, int]] = Counter()
    for (year, month, *_), count in register.rekap().items():
        by_month[(year, month)] += count
    for row in table["rows"]:
        for year, counted in row["counts"].items():
            assert counted == by_month[(int(year), row["month"])], (year, row["month"])
    assert table["total"] == len(register.expected("import"))


async def test_importing_again_or_an_overlapping_register_adds_nothing_twice(
    settings: Settings, tmp_path: Path
) -> None:
    first = clean(600, seed=3)
    path = first.write_csv(tmp_path / "2021-2022.csv")
    once = await run_import(settings, path)
    assert once["imported"] == 600
    before = await stored(settings)

    again = await run_import(settings, path)
    assert (again["imported"], again["already"]) == (0, 600)
    assert codes_by_row(again) == codes_by_row(once)  # the same warnings, nothing more
    assert await stored(settings) == before

    changed = clean(600, seed=3).rows[300:]
    changed[0].cells[12] = "Ditolak"  # the office corrected a row since
    overlap = combined(changed, clean(200, seed=4, first=601).rows)
    later = await run_import(settings, overlap.write_csv(tmp_path / "2022-2023.csv"))
    assert (later["imported"], later["already"]) == (200, 300)
    noticed = [issue["row"] for issue in later["issues"] if issue["code"] == "changed_since_import"]
    assert noticed == [4]
    assert await stored(settings) == (before[0] + 200, before[1] + 200)


async def test_a_workbook_imported_then_brought_again_as_its_csv_export_is_not_changed(
    settings: Settings, tmp_path: Path
) -> None:
    register = messy(200, seed=8)
    once = await run_import(settings, register.write_xlsx(tmp_path / "register.xlsx"))
    assert once["imported"] > 100
    before = await stored(settings)

    again = await run_import(settings, register.write_csv(tmp_path / "register.csv"))
    assert (again["imported"], again["already"]) == (0, once["imported"])
    assert "changed_since_import" not in {issue["code"] for issue in again["issues"]}
    assert await stored(settings) == before


async def test_rows_imported_before_rows_were_fingerprinted_by_content_are_not_changed(
    settings: Settings, tmp_path: Path
) -> None:
    """Rows stored by an earlier version, with the fingerprint of their cells' text: the
    same file brought again finds them unchanged, a corrected row still changed."""
    register = clean(40, seed=9)
    path = register.write_csv(tmp_path / "register.csv")

    def import_as_before() -> int:
        _, rows = read(settings, path, load_mapping(None, []))
        earlier = [replace(row, fingerprint=row.cells_fingerprint) for row in rows]
        store, report = Store.open(settings), Report(path.name, False, 3)
        try:
            store.save(earlier, report)
        finally:
            store.close()
        return report.imported

    assert await asyncio.to_thread(import_as_before) == 40
    register.rows[5].cells[12] = "Ditolak"  # corrected since
    again = await run_import(settings, register.write_csv(tmp_path / "corrected.csv"))
    assert (again["imported"], again["already"]) == (0, 40)
    noticed = [issue["row"] for issue in again["issues"] if issue["code"] == "changed_since_import"]
    assert noticed == [register.rows[5].row]


async def test_monthly_sheets_numbered_from_one_again_are_each_imported(
    settings: Settings, tmp_path: Path
) -> None:
    """Registers kept month by month, each numbered from 1: a row under a number an earlier
    month used is another complaint (another day and text), not a correction of it."""
    january, february = monthly(30, 2024, 1, seed=1), monthly(30, 2024, 2, seed=2)
    once = await run_import(settings, january.write_csv(tmp_path / "januari.csv"))
    assert (once["imported"], once["exit"]) == (30, 0)

    path = february.write_csv(tmp_path / "februari.csv")
    later = await run_import(settings, path)
    assert (later["imported"], later["already"], later["exit"]) == (30, 0, 0)
    reused = [issue["row"] for issue in later["issues"] if issue["code"] == "number_reused"]
    assert reused == [planned.row for planned in february.rows]
    assert await stored(settings) == (60, 60)

    again = await run_import(settings, path)
    assert (again["imported"], again["already"]) == (0, 30)
    february.rows[4].cells[STATUS] = "Selesai"  # the office corrected rows since
    february.rows[4].cells[CLOSED] = "29/02/2024"
    february.rows[6].cells[TEXT] += " (diperbaiki)"
    corrected = await run_import(settings, february.write_csv(tmp_path / "februari-2.csv"))
    assert (corrected["imported"], corrected["already"]) == (0, 30)
    noticed = [i["row"] for i in corrected["issues"] if i["code"] == "changed_since_import"]
    assert noticed == [february.rows[4].row, february.rows[6].row]

    march = monthly(30, 2024, 3, seed=3)
    both = combined(march.rows, monthly(30, 2024, 4, seed=4).rows)  # two months in one file
    year = await run_import(settings, both.write_csv(tmp_path / "maret-april.csv"))
    assert (year["imported"], year["exit"]) == (60, 0)
    reused = [issue["row"] for issue in year["issues"] if issue["code"] == "number_reused"]
    assert sorted(reused) == [planned.row for planned in both.rows]  # March's: the store's
    assert await stored(settings) == (120, 120)

    june = monthly(30, 2025, 6, seed=6)  # a new year: June alone, then May and June in one file
    assert (await run_import(settings, june.write_csv(tmp_path / "juni.csv")))["imported"] == 30
    may_june = combined(monthly(30, 2025, 5, seed=5).rows, june.rows)
    later = await run_import(settings, may_june.write_csv(tmp_path / "mei-juni.csv"))
    assert (later["imported"], later["already"]) == (30, 30)
    assert "changed_since_import" not in {issue["code"] for issue in later["issues"]}
    assert await stored(settings) == (180, 180)


async def test_a_reused_number_is_told_by_its_day_for_rows_imported_before_gists_were_kept(
    settings: Settings, tmp_path: Path
) -> None:
    january, february = monthly(20, 2024, 1, seed=5), monthly(20, 2024, 2, seed=6)
    await run_import(settings, january.write_csv(tmp_path / "januari.csv"))
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:  # as an earlier version stored them: no gist
        await conn.execute("UPDATE intake.submission_index SET gist = NULL")
    finally:
        await conn.close()
    later = await run_import(settings, february.write_csv(tmp_path / "februari.csv"))
    assert (later["imported"], later["already"]) == (20, 0)
    again = await run_import(settings, january.write_csv(tmp_path / "januari-lagi.csv"))
    assert (again["imported"], again["already"]) == (0, 20)
    assert "number_reused" not in {issue["code"] for issue in again["issues"]}
    assert await stored(settings) == (40, 40)


async def test_an_import_killed_half_way_completes_on_rerun_without_duplicates(
    settings: Settings, tmp_path: Path
) -> None:
    total = 12_000
    path = clean(total, seed=11).write_csv(tmp_path / "register.csv")
    process = await start_import(settings, path, "--batch", 100)

    async def some_committed() -> bool:
        return (await stored(settings))[0] >= 100

    await eventually(some_committed, within=120, interval=0.01)
    process.kill()
    await process.wait()
    partial, _ = await stored(settings)
    assert 0 < partial < total

    rerun = await run_import(settings, path)
    assert (rerun["imported"], rerun["already"], rerun["exit"]) == (total - partial, partial, 0)
    assert await stored(settings) == (total, total)
    index = await fetch(settings, "SELECT count(*) AS n FROM intake.submission_index")
    keys = await fetch(settings, "SELECT count(*) AS n FROM intake.personal_keys")
    assert (index[0]["n"], keys[0]["n"]) == (total, total)


async def test_rebuilding_the_read_model_gives_the_live_one_with_imported_cases(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings).model_copy(update={"clock_scan_seconds": 0.5})
    register = messy(400, seed=9)
    async with running(settings, tmp_path) as system:
        await run_import(settings, register.write_xlsx(tmp_path / "register.xlsx"))
        async with httpx.AsyncClient(base_url=system.url("reporting"), timeout=30) as http:
            expected = register.rekap()

            async def counted() -> bool:
                return await rekap_counts(http) == expected

            assert await eventually(counted, within=120, interval=0.5)

        async def quiet() -> bool:  # the clock's alarms for the open cases have landed too
            before = await tables(settings, "reporting")
            await asyncio.sleep(2)
            return before == await tables(settings, "reporting")

        await eventually(quiet, within=60)
        live = await tables(settings, "reporting")
        report = await rebuild(settings, swap_in=False)
        assert report.cases == len(register.expected("import"))
        assert await tables(settings, report.schema) == live


async def test_a_number_used_by_another_kind_or_person_on_the_same_day_is_another_complaint(
    settings: Settings, tmp_path: Path
) -> None:
    """A register of complaints and one of consultations, each numbered from 1; a month later
    the same words from someone else under the same number: four complaints, none taken for
    a correction of another."""
    book = Workbook()
    sheets = {"Pengaduan": book.active, "Konsultasi": book.create_sheet("Konsultasi")}
    rows = {
        "Pengaduan": [1, "02/01/2024", "Pengaduan", "Budi", "081211110000", "Izin usaha lama."],
        "Konsultasi": [1, "02/01/2024", "Konsultasi", "Citra", "081222220000", "Cara daftar NIB?"],
    }
    for name, sheet in sheets.items():
        assert sheet is not None
        sheet.title = name
        sheet.append(["No", "Tanggal", "Jenis", "Nama Pelapor", "No. HP", "Uraian Pengaduan"])
        sheet.append(rows[name])
    path = tmp_path / "register.xlsx"
    book.save(path)
    for name in sheets:
        imported = await run_import(settings, path, "--sheet", name)
        assert (imported["imported"], imported["already"]) == (1, 0), imported["issues"]

    text = "Konsultasi NIB untuk usaha mikro."
    for month, person in ((1, "Andi"), (2, "Rudi")):
        monthly_path = tmp_path / f"bulan-{month}.csv"
        monthly_path.write_text(
            f"No;Tanggal;Nama Pelapor;Uraian Pengaduan\n5;0{month}/0{month}/2024;{person};{text}\n"
        )
        imported = await run_import(settings, monthly_path)
        assert (imported["imported"], imported["already"]) == (1, 0), imported["issues"]
    assert await stored(settings) == (4, 4)
