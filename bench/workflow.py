"""Workflow: officer commands/s through the API, and scanning 10,000 open cases for due alarms.

    .venv/bin/python bench/workflow.py

Starts its own database and the workflow service, stops them at the end. Baseline in the same
run: the same commands applied to the aggregates and saved straight to the event store, without
HTTP; the two are measured in turns (`ROUNDS`), so that both see the machine at the same pace.
The last line is one JSON object of the figures.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from bench.harness import isolated, process
from services.workflow.case import Case
from services.workflow.cases import Cases, open_cases
from services.workflow.issuer import Issuer
from services.workflow.scanner import scan_once
from shared.auth import Officer
from shared.db import ensure_schema
from shared.settings import Settings
from shared.sop import Kind, Role

CASES_FOR_COMMANDS = 300
CONCURRENCY = 16
ROUNDS = 3
"""The API's and the baseline's commands are measured in turns, a share of the cases each."""
OPEN_CASES = 10_000
WIB = ZoneInfo("Asia/Jakarta")
# Four commands per case, each by the SOP's actor: escalate, verify, dispose, note.
WALK = [
    ("identification/escalate", Role.TIM_PENGADUAN, {"note": "Perlu pimpinan."}),
    ("verification", Role.KABID, {"note": "Lengkap."}),
    ("disposition", Role.KEPALA_DINAS, {"instruction": "Tinjau lapangan."}),
    ("information-request", Role.TIM_PENGADUAN, {"reason": "Nomor berkas?"}),
]


def new_case(calendar_cases: Cases, received_at: datetime) -> Case:
    return Case.open(
        case_id=uuid4(),
        agency=calendar_cases.settings.agency,
        kind=Kind.COMPLAINT,
        tracking_code="7K3M-9QXP",
        channel="web",
        category=None,
        received_at=received_at,
        anonymous=False,
        confidential=False,
        complainant_ref=None,
        calendar=calendar_cases.calendar(),
    )


def _given(case: Case) -> Case:
    return case


def open_many(cases: Cases, count: int, received_at: datetime) -> list[UUID]:
    ids = []
    for start in range(0, count, 500):
        batch = [new_case(cases, received_at) for _ in range(min(500, count - start))]
        cases.open([partial(_given, case) for case in batch])
        ids += [case.id for case in batch]
    return ids


async def api_commands(settings: Settings, case_ids: list[UUID]) -> tuple[float, list[float]]:
    issuer = await Issuer.load(settings)
    headers = {
        role: {"Authorization": "Bearer " + issuer.mint(subject=role.value, name="b", roles=[role])}
        for _, role, _ in WALK
    }
    base = f"http://127.0.0.1:{settings.workflow_port}/workflow/v1/cases"
    latencies: list[float] = []
    queue: asyncio.Queue[UUID] = asyncio.Queue()
    for case_id in case_ids:
        queue.put_nowait(case_id)
    async with aiohttp.ClientSession() as session:

        async def officer() -> None:
            while not queue.empty():
                case_id, version = queue.get_nowait(), 1
                for path, role, body in WALK:
                    started = time.perf_counter()
                    payload = {"version": version, **body}
                    async with session.post(
                        f"{base}/{case_id}/{path}", json=payload, headers=headers[role]
                    ) as answer:
                        view = await answer.json()
                    assert answer.status == 200, view
                    version = view["version"]
                    latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(officer() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def direct_commands(cases: Cases, case_ids: list[UUID]) -> float:
    """The baseline: the same commands on the aggregates, saved straight to the store."""
    officers = {
        role: Officer(role.value, "b", frozenset({role}), cases.settings.agency)
        for _, role, _ in WALK
    }
    calendar, count = cases.calendar(), 0
    started = time.perf_counter()
    for case_id in case_ids:
        case = cases.get_case(case_id)
        now = datetime.now(UTC)
        case.complete(
            "identification/escalate",
            note="x",
            by=officers[Role.TIM_PENGADUAN],
            at=now,
            calendar=calendar,
        )
        cases.store(case)
        case.complete("verification", note="x", by=officers[Role.KABID], at=now, calendar=calendar)
        cases.store(case)
        case.complete(
            "disposition",
            to_role=Role.TIM_PENGADUAN.value,
            instruction="x",
            by=officers[Role.KEPALA_DINAS],
            at=now,
            calendar=calendar,
        )
        cases.store(case)
        case.request_information(reason="x", by=officers[Role.TIM_PENGADUAN], at=now)
        cases.store(case)
        count += 4
    return count / (time.perf_counter() - started)


async def main() -> dict[str, float]:
    async with isolated() as settings:
        settings = settings.model_copy(update={"clock": False, "relay": False})
        await ensure_schema(settings, "workflow")
        cases = await asyncio.to_thread(open_cases, settings)
        try:
            now = datetime.now(UTC)
            for_api = await asyncio.to_thread(open_many, cases, CASES_FOR_COMMANDS, now)
            for_direct = await asyncio.to_thread(open_many, cases, CASES_FOR_COMMANDS, now)
            ready = f"http://127.0.0.1:{settings.workflow_port}/readyz"
            api_s, direct_s, latencies = 0.0, 0.0, list[float]()
            async with process("services.workflow", settings, ready):
                for turn in range(ROUNDS):  # in turns: the machine's pace drifts, both see it
                    share = slice(
                        turn * len(for_api) // ROUNDS, (turn + 1) * len(for_api) // ROUNDS
                    )
                    rate, seen = await api_commands(settings, for_api[share])
                    api_s, latencies = api_s + len(seen) / rate, latencies + seen
                    rate = await asyncio.to_thread(direct_commands, cases, for_direct[share])
                    direct_s += 4 * len(for_direct[share]) / rate
            api_rate, direct_rate = len(latencies) / api_s, 4 * len(for_direct) / direct_s
            # 10,000 open cases received in March: every one has its alarms due.
            march = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
            await asyncio.to_thread(open_many, cases, OPEN_CASES, march)
            started = time.perf_counter()
            raised = await asyncio.to_thread(scan_once, cases, now)
            full_scan = time.perf_counter() - started
            started = time.perf_counter()
            again = await asyncio.to_thread(scan_once, cases, now)
            idle_scan = time.perf_counter() - started
        finally:
            cases.close()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "api_commands_per_s": round(api_rate, 1),
        "api_command_p50_ms": round(quantiles[49] * 1000, 2),
        "api_command_p99_ms": round(quantiles[98] * 1000, 2),
        "direct_commands_per_s": round(direct_rate, 1),
        "api_vs_direct_ratio": round(api_rate / direct_rate, 3),
        "open_cases_scanned": OPEN_CASES + 2 * CASES_FOR_COMMANDS,
        "alarms_raised": raised,
        "scan_raising_all_alarms_s": round(full_scan, 2),
        "alarms_per_s": round(raised / full_scan, 1),
        "rescan_nothing_due_ms": round(idle_scan * 1000, 2),
        "rescan_alarms_raised": again,
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    for name, value in result.items():
        print(f"{name:>28}: {value}")
    print(json.dumps(result))
