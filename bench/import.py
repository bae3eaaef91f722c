"""Register import: from the command's start until the rekap counts the whole register.

    .venv/bin/python bench/import.py          (BENCH_IMPORT_ROWS=20000 for a shorter run)

Starts what it needs in its own database and vhost. Generates a register of 100,000 rows
(CSV, as a spreadsheet exports it) and, as the baseline, COPYs the same rows, parsed from the
same file, into a scratch table. Then starts intake (with its relay), workflow and reporting,
and runs `python -m services.intake import` (a process, as an officer runs it) while they
serve: `import_s` is the command's own time, `end_to_end_s` the time from its start until the
rekap (by year, month, kind, channel, status; and by category) equals the register's counts.
The last line is one JSON object of the figures.
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ROOT, isolated, process
from shared.db import connect
from shared.settings import Settings
from tests.infrastructure import environment
from tests.intake.registers import Register, clean

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
CATCH_UP_LIMIT = 1800.0  # seconds; past it the figures say how far they got
Figures = dict[str, float]


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


async def start_import(settings: Settings, path: Path, report: Path) -> asyncio.subprocess.Process:
    """The import command, started."""
    return await asyncio.create_subprocess_exec(
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


async def fetch(settings: Settings, sql: str) -> list[Any]:
    conn = await connect(settings)
    try:
        return list(await conn.fetch(sql))
    except asyncpg.UndefinedTableError:  # not made yet: none
        return []
    finally:
        await conn.close()


OPENED = "SELECT count(*) FROM workflow.case_keys"
REKAP = (
    "SELECT year, month, kind, channel, status, sum(count) AS n FROM reporting.rekap "
    "GROUP BY year, month, kind, channel, status"
)
BY_CATEGORY = "SELECT category, sum(count) AS n FROM reporting.rekap GROUP BY category"


async def rekap_complete(settings: Settings, register: Register) -> bool:
    """Whether the rekap counts every imported row, in its month and category, as imported."""
    rows = await fetch(settings, REKAP)
    counted = Counter({tuple(row)[:5]: int(row["n"]) for row in rows})
    if counted != register.rekap():
        return False
    categories = {row["category"]: int(row["n"]) for row in await fetch(settings, BY_CATEGORY)}
    return categories == {key or "": n for key, n in register.categories().items()}


async def end_to_end(settings: Settings, register: Register, path: Path, report: Path) -> Figures:
    """With the services running: seconds from the import's start to its end, to workflow
    having opened every case, and to the rekap counting the whole register."""
    services = [
        process(f"services.{name}", settings, f"http://127.0.0.1:{settings.port(name)}/readyz")
        for name in ("intake", "workflow", "reporting")
    ]
    expected = len(register.expected("import"))
    reached: Figures = {}
    async with services[0], services[1], services[2]:
        started = time.perf_counter()
        child = await start_import(settings, path, report)
        while "end_to_end_s" not in reached and time.perf_counter() - started < CATCH_UP_LIMIT:
            await asyncio.sleep(0.5)
            now = time.perf_counter() - started
            if "import_s" not in reached and child.returncode is not None:
                if child.returncode not in (0, 1):
                    raise RuntimeError("the import failed")
                reached["import_s"] = now
            if "workflow_s" not in reached:
                rows = await fetch(settings, OPENED)
                if rows and rows[0][0] >= expected:
                    reached["workflow_s"] = now
            if await rekap_complete(settings, register):
                reached["end_to_end_s"] = now
        if child.returncode is None:
            await child.wait()
            reached.setdefault("import_s", time.perf_counter() - started)
        opened = await fetch(settings, OPENED)
    reached["workflow_opened"] = opened[0][0] if opened else 0
    return reached


async def main() -> Figures:
    register = clean(ROWS, seed=2024)
    with tempfile.TemporaryDirectory() as folder:
        path = register.write_csv(Path(folder) / "register.csv")
        report = Path(folder) / "report.json"
        async with isolated() as settings:
            copy_seconds = await copy_baseline(settings, path)
            figures = await end_to_end(settings, register, path, report)
        imported = int(json.loads(report.read_text())["imported"])
    import_rate, copy_rate = ROWS / figures["import_s"], ROWS / copy_seconds
    return {
        "rows": ROWS,
        "imported": imported,
        "import_s": round(figures["import_s"], 1),
        "import_rows_per_s": round(import_rate, 1),
        "copy_s": round(copy_seconds, 2),
        "copy_rows_per_s": round(copy_rate, 1),
        "import_vs_copy_ratio": round(import_rate / copy_rate, 4),
        "workflow_opened_s": round(figures.get("workflow_s", math.nan), 1),
        "workflow_opened": figures["workflow_opened"],
        "end_to_end_s": round(figures.get("end_to_end_s", math.nan), 1),
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    for name, value in result.items():
        print(f"{name:>24}: {value}")
    print(json.dumps(result))
