"""Register import throughput against a raw COPY of the same rows, and the catch-up after it.

    .venv/bin/python bench/import.py          (BENCH_IMPORT_ROWS=20000 for a shorter run)

Starts what it needs in its own database and vhost. Generates a register of 100,000 rows
(CSV, as a spreadsheet exports it), imports it with `python -m services.intake import` (a
process, as an officer runs it), and in the same run COPYs the same rows, parsed from the
same file, into a scratch table: the baseline. Then starts intake (its relay), workflow and
reporting and measures how long until every case is opened and projected. The last line is
one JSON object of the figures.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ROOT, isolated, process
from shared.db import connect
from shared.settings import Settings
from tests.infrastructure import environment
from tests.intake.registers import clean

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
CATCH_UP_LIMIT = 1800.0  # seconds; past it the figures say how far they got


async def copy_baseline(settings: Settings, path: Path) -> float:
    """Seconds to parse the file and COPY its rows into a scratch table of text columns."""
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8-sig") as source:
        records = list(csv.reader(source, delimiter=";"))
    header, rows = records[2], [tuple(record) for record in records[3:]]
    conn = await connect(settings)
    try:
        columns = ", ".join(f"c{number} text" for number in range(len(header)))
        await conn.execute(f"CREATE TABLE scratch_register ({columns})")
        await conn.copy_records_to_table("scratch_register", records=rows)
    finally:
        await conn.close()
    return time.perf_counter() - started


async def timed_import(settings: Settings, path: Path, report: Path) -> float:
    """Seconds the import command takes, start to exit."""
    started = time.perf_counter()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.intake",
        "import",
        str(path),
        "--no-progress",
        "--report",
        str(report),
        cwd=ROOT,
        env=os.environ | environment(settings),
        stdout=asyncio.subprocess.DEVNULL,
    )
    if await child.wait() not in (0, 1):
        raise RuntimeError("the import failed")
    return time.perf_counter() - started


async def count(settings: Settings, sql: str) -> int:
    conn = await connect(settings)
    try:
        return int(await conn.fetchval(sql) or 0)
    except Exception:  # noqa: BLE001 - a table not made yet counts as none
        return 0
    finally:
        await conn.close()


OPENED = "SELECT count(*) FROM workflow.cases_events WHERE topic LIKE '%CaseImported'"
PROJECTED = "SELECT count(*) FROM reporting.case_summary WHERE sop_version IS NOT NULL"


async def catch_up(settings: Settings, expected: int) -> dict[str, float]:
    """Seconds from starting the services until workflow opened and reporting projected all."""
    services = [
        process(f"services.{name}", settings, f"http://127.0.0.1:{settings.port(name)}/readyz")
        for name in ("intake", "workflow", "reporting")
    ]
    started = time.perf_counter()
    reached: dict[str, float] = {}
    async with services[0], services[1], services[2]:
        while len(reached) < 2 and time.perf_counter() - started < CATCH_UP_LIMIT:
            for name, sql in (("workflow", OPENED), ("reporting", PROJECTED)):
                if name not in reached and await count(settings, sql) >= expected:
                    reached[name] = time.perf_counter() - started
            await asyncio.sleep(0.5)
        opened, projected = await count(settings, OPENED), await count(settings, PROJECTED)
    return {
        "workflow_catch_up_s": round(reached.get("workflow", float("nan")), 1),
        "reporting_catch_up_s": round(reached.get("reporting", float("nan")), 1),
        "workflow_opened": opened,
        "reporting_projected": projected,
    }


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = clean(ROWS, seed=2024).write_csv(Path(folder) / "register.csv")
        async with isolated() as settings:
            copy_seconds = await copy_baseline(settings, path)
            import_seconds = await timed_import(settings, path, Path(folder) / "report.json")
            report = json.loads((Path(folder) / "report.json").read_text())
            imported = int(report["imported"])
            figures = await catch_up(settings, imported)
    import_rate, copy_rate = ROWS / import_seconds, ROWS / copy_seconds
    return {
        "rows": ROWS,
        "imported": imported,
        "import_s": round(import_seconds, 1),
        "import_rows_per_s": round(import_rate, 1),
        "copy_s": round(copy_seconds, 2),
        "copy_rows_per_s": round(copy_rate, 1),
        "import_vs_copy_ratio": round(import_rate / copy_rate, 4),
        **figures,
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    for name, value in result.items():
        print(f"{name:>24}: {value}")
    print(json.dumps(result))
