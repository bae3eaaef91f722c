"""Intake throughput and latency against a bare-insert baseline, and submission → rekap lag.

    .venv/bin/python bench/intake.py

Starts what it needs (its own database and vhost, the services as processes) and stops it.
The baseline is a bare FastAPI endpoint doing one asyncpg INSERT per request, served the same
way on the same machine in the same run. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Load, closed_loop, isolated, open_loop, process
from shared.db import connect
from shared.settings import Settings

FORM = json.dumps(
    {
        "text": "Izin usaha saya belum selesai setelah tiga minggu, mohon ditindaklanjuti.",
        "category": "perizinan_berusaha",
        "contact": {"name": "Siti Aminah", "phone": "0812-3456-7890"},
        "consent": True,
    }
).encode()
CONCURRENCY = 64
SECONDS = 8.0
WARMUP = 2.0
LAG_RATE = 100.0
LAG_SECONDS = 10.0


async def saturate(url: str) -> Load:
    """Warm up, then measure under `CONCURRENCY` back-to-back clients."""
    await closed_loop(url, FORM, concurrency=CONCURRENCY, seconds=WARMUP)
    return await closed_loop(url, FORM, concurrency=CONCURRENCY, seconds=SECONDS)


async def stored_submissions(settings: Settings) -> int:
    conn = await connect(settings)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM intake.submissions_events"))
    finally:
        await conn.close()


async def visibility_lag(settings: Settings, url: str) -> list[float]:
    """Seconds from each 201 until its case is in the rekap, at a fixed submission rate."""
    visible_at: dict[str, float] = {}
    done = asyncio.Event()

    async def watch() -> None:
        conn = await connect(settings)
        try:
            while not done.is_set():
                for row in await conn.fetch("SELECT tracking_code FROM reporting.case_summary"):
                    visible_at.setdefault(row[0], time.perf_counter())
                await asyncio.sleep(0.01)
        finally:
            await conn.close()

    watcher = asyncio.create_task(watch())
    answered = await open_loop(url, FORM, rate=LAG_RATE, seconds=LAG_SECONDS)
    codes = {json.loads(body)["tracking_code"]: at for at, body in answered}
    deadline = time.perf_counter() + 30
    while not codes.keys() <= visible_at.keys() and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    done.set()
    await watcher
    return [max(0.0, visible_at[code] - at) for code, at in codes.items() if code in visible_at]


async def throughput() -> dict[str, float]:
    """Saturated submissions/s and latency: baseline, intake as `make up` runs it, API alone."""
    async with isolated() as settings:
        base = f"http://127.0.0.1:{settings.intake_port}"
        submit = f"{base}/intake/v1/complaints"
        async with process("bench.baseline", settings, f"{base}/readyz"):
            baseline = await saturate(submit)
        async with process("services.intake", settings, f"{base}/readyz"):
            intake = await saturate(submit)
            ceiling = await closed_loop(
                f"{base}/healthz", None, concurrency=CONCURRENCY, seconds=WARMUP
            )
        stored = await stored_submissions(settings)
        api_only = settings.model_copy(update={"relay": False})
        async with process("services.intake", api_only, f"{base}/readyz"):
            without_relay = await saturate(submit)
    return {
        "concurrency": CONCURRENCY,
        "intake_rate": round(intake.rate, 1),
        "intake_p50_ms": round(intake.percentile(50), 2),
        "intake_p99_ms": round(intake.percentile(99), 2),
        "intake_failures": intake.failures,
        "intake_accepted_all_stored": float(stored >= len(intake.latencies)),
        "intake_without_relay_rate": round(without_relay.rate, 1),
        "bare_insert_rate": round(baseline.rate, 1),
        "bare_insert_p50_ms": round(baseline.percentile(50), 2),
        "bare_insert_p99_ms": round(baseline.percentile(99), 2),
        "intake_vs_bare_insert_ratio": round(intake.rate / baseline.rate, 3),
        "intake_without_relay_vs_bare_insert_ratio": round(without_relay.rate / baseline.rate, 3),
        "client_ceiling_rate": round(ceiling.rate, 1),
    }


async def lag() -> dict[str, float]:
    """Submission → visible in the rekap, the whole system running, at a fixed rate."""
    async with isolated() as settings:
        services = [
            process(f"services.{name}", settings, f"http://127.0.0.1:{settings.port(name)}/readyz")
            for name in ("intake", "workflow", "reporting")
        ]
        submit = f"http://127.0.0.1:{settings.intake_port}/intake/v1/complaints"
        async with services[0], services[1], services[2]:
            lags = await visibility_lag(settings, submit)
    lags_ms = sorted(lag * 1000 for lag in lags)
    return {
        "lag_submission_rate": LAG_RATE,
        "lag_samples": len(lags_ms),
        "lag_p50_ms": round(statistics.median(lags_ms), 1) if lags_ms else float("nan"),
        "lag_p99_ms": round(statistics.quantiles(lags_ms, n=100)[98], 1)
        if len(lags_ms) > 1
        else float("nan"),
    }


async def main() -> dict[str, float]:
    return await throughput() | await lag()


if __name__ == "__main__":
    result = asyncio.run(main())
    for name, value in result.items():
        print(f"{name:>30}: {value}")
    print(json.dumps(result))
