"""A province's consumers scaled out: throughput and submission → rekap lag with 1, 2 and 4
consumer processes per service (workflow and reporting), intake one process.

    .venv/bin/python bench/province.py [--processes 1,2,4] [--agencies 10] [--backlog 2000]
                                       [--rate 40] [--seconds 10]

Runs on servers of its own (tests/servers.py: a PostgreSQL, a RabbitMQ node with the
consistent-hash exchange, a Redis), with a fresh database, vhost and prefix for each number of
processes:

- drain: every consumer process running (each on its own partitions, standing by for the
  others), `backlog` submissions spread over the agencies are taken by intake with its relay
  off; intake starts again with it on and publishes them at once; the rate is the cases
  fully projected (workflow opened them, reporting counts them) per second, from the first
  such case to the last;
- lag: everything running, submissions at `rate` per second for `seconds`, spread over the
  agencies; each one's seconds from intake's 201 until the case is counted in the rekap (its
  read-model row holds workflow's deadline), p50 and p99.

Ratios (`*_ratio`) compare each count with 1 process, measured in the same run. The last line
is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import httpx
from pydantic import SecretStr

from shared.db import connect
from shared.settings import Settings
from shared.topology import partition_queues
from tests.e2e.province import KEEPALIVE, Province, Tokens, agency_ids
from tests.infrastructure import create_isolated, destroy_isolated
from tests.intake.conftest import signing_key
from tests.polling import eventually
from tests.servers import PrivatePostgres, PrivateRabbitMQ, PrivateRedis, settings_for, started
from tests.system import System, with_free_ports

CONSUMERS = ("workflow", "reporting")
BODY = {"text": "Izin usaha belum terbit setelah tiga minggu, mohon ditindaklanjuti."}
PROJECTED = "SELECT tracking_code FROM reporting.case_summary WHERE deadline_at IS NOT NULL"


@contextlib.asynccontextmanager
async def isolated(base: Settings) -> AsyncIterator[Settings]:
    """A fresh database, vhost and Redis prefix on the bench's servers, on free ports."""
    settings = await create_isolated(base)
    try:
        yield with_free_ports(settings).model_copy(
            update={
                "auth_signing_key": SecretStr(signing_key()),
                "rate_ip_per_minute": 10_000_000,
                "rate_sender_per_minute": 10_000_000,
                "log_level": "error",
            }
        )
    finally:
        await destroy_isolated(settings)


async def start_consumers(
    system: System, count: int, services: tuple[str, ...] = CONSUMERS
) -> None:
    """`count` processes of each consuming service, sharing its partitions."""
    await asyncio.gather(
        *(
            system.start(service, instance=i, instances=count)
            for service in services
            for i in range(count)
        )
    )


async def queues(settings: Settings) -> dict[str, dict[str, int]]:
    """Every queue of the vhost: its consumers and messages."""
    api, auth = settings.management_api()
    async with httpx.AsyncClient(base_url=api, auth=auth, timeout=10) as http:
        answer = await http.get(
            f"/api/queues/{settings.rabbitmq_vhost()}",
            params={"columns": "name,consumers,messages"},
        )
    return {q["name"]: q for q in answer.json()}


async def registered(settings: Settings, count: int) -> None:
    """Until every partition queue of the consuming services has `count` consumers (each
    process on its own partitions and standing by for the others)."""
    names = {name for service in CONSUMERS for name in partition_queues(settings, service)}

    async def all_there() -> bool:
        found = await queues(settings)
        return all(found.get(name, {}).get("consumers", 0) >= count for name in names)

    await eventually(all_there, within=60, interval=0.5)


async def submit(
    session: aiohttp.ClientSession, intake: str, agency: str
) -> tuple[float, str] | None:
    """One submission to an agency's form API: (when answered, its tracking code)."""
    url = f"{intake}/intake/v1/complaints?agency={agency}"
    async with session.post(url, json=BODY) as answer:
        body = await answer.json()
    if answer.status != 201:
        return None
    return time.perf_counter(), str(body["tracking_code"])


async def projected_at(
    settings: Settings, codes: asyncio.Future[set[str]], within: float
) -> dict[str, float]:
    """When each case was first seen counted (polling the read model from now on), until
    every code `codes` resolves to is seen or `within` seconds after they are known."""
    seen: dict[str, float] = {}
    conn = await connect(settings)
    try:
        deadline = float("inf")
        while time.perf_counter() < deadline:
            for row in await conn.fetch(PROJECTED):
                seen.setdefault(row[0], time.perf_counter())
            if codes.done():
                if codes.result() <= seen.keys():
                    break
                deadline = min(deadline, time.perf_counter() + within)
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    return seen


async def drain(system: System, agencies: list[str], backlog: int) -> dict[str, Any]:
    """Cases per second the running consumers take from a backlog published at once: intake
    takes the submissions with its relay off, then starts again with it on; from the first
    case counted to the last (workflow opened it, reporting counts it)."""
    await system.stop("intake")
    await system.start("intake", {"ADUAN_RELAY": "false"})
    intake = system.url("intake")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:
        gate = asyncio.Semaphore(32)

        async def one(number: int) -> tuple[float, str] | None:
            async with gate:
                return await submit(session, intake, agencies[number % len(agencies)])

        answered = [a for a in await asyncio.gather(*(one(n) for n in range(backlog))) if a]
    codes = {code for _, code in answered}
    await system.stop("intake")
    known: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
    known.set_result(codes)
    watch = asyncio.create_task(projected_at(system.settings, known, within=300))
    await system.start("intake")  # its relay publishes the backlog
    seen = await watch
    times = sorted(seen[code] for code in codes if code in seen)
    spread = times[-1] - times[0] if len(times) > 1 else float("nan")
    return {
        "drain_cases": len(codes),
        "drain_projected": len(times),
        "drain_rate": round((len(times) - 1) / spread, 1) if len(times) > 1 else float("nan"),
    }


async def lag(system: System, agencies: list[str], rate: float, seconds: float) -> dict[str, float]:
    """Submission → counted in the rekap, at a fixed rate spread over the agencies."""
    intake = system.url("intake")
    known: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
    watch = asyncio.create_task(projected_at(system.settings, known, within=60))
    async with aiohttp.ClientSession() as session:
        tasks = []
        start = time.perf_counter()
        for number in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + number / rate - time.perf_counter()))
            agency = agencies[number % len(agencies)]
            tasks.append(asyncio.create_task(submit(session, intake, agency)))
        answered = [a for a in await asyncio.gather(*tasks) if a]
    codes = {code: at for at, code in answered}
    known.set_result(set(codes))
    seen = await watch
    lags = sorted((seen[c] - at) * 1000 for c, at in codes.items() if c in seen)
    return {
        "lag_samples": len(lags),
        "lag_missing": len(codes) - len(lags),
        "lag_p50_ms": round(statistics.median(lags), 1) if lags else float("nan"),
        "lag_p99_ms": round(statistics.quantiles(lags, n=100)[98], 1)
        if len(lags) > 1
        else float("nan"),
    }


async def one_scale(base: Settings, count: int, args: argparse.Namespace) -> dict[str, Any]:
    """The figures with `count` consumer processes per service."""
    agencies = agency_ids(args.agencies)
    async with isolated(base) as settings:
        with tempfile.TemporaryDirectory(prefix="bench-province-") as logs:
            system = System(settings, Path(logs), ready_within=120)
            try:
                await system.start("intake")
                await start_consumers(system, count)
                await registered(system.settings, count)
                async with httpx.AsyncClient(timeout=30, limits=KEEPALIVE) as http:
                    province = Province(
                        http,
                        system.url("intake"),
                        [system.url("workflow", i) for i in range(count)],
                        [system.url("reporting", i) for i in range(count)],
                        Tokens(settings),
                    )
                    await province.register(agencies)
                figures = await drain(system, agencies, args.backlog)
                figures |= await lag(system, agencies, args.rate, args.seconds)
            finally:
                await asyncio.gather(*(system.stop(name) for name in list(system.processes)))
    return figures


async def main(args: argparse.Namespace) -> dict[str, Any]:
    counts = [int(n) for n in args.processes.split(",")]
    result: dict[str, Any] = {
        "agencies": args.agencies,
        "backlog": args.backlog,
        "lag_submission_rate": args.rate,
        "lag_seconds": args.seconds,
    }
    with (
        started(PrivatePostgres()) as postgres,
        started(PrivateRabbitMQ()) as rabbitmq,
        started(PrivateRedis()) as redis,
    ):
        base = settings_for(postgres, rabbitmq, redis)
        by_count = {count: await one_scale(base, count, args) for count in counts}
    first = by_count[counts[0]]
    for count, figures in by_count.items():
        for name, value in figures.items():
            result[f"p{count}_{name}"] = value
        if count != counts[0]:
            result[f"p{count}_drain_rate_ratio"] = round(
                figures["drain_rate"] / first["drain_rate"], 3
            )
            result[f"p{count}_lag_p50_ratio"] = round(
                figures["lag_p50_ms"] / first["lag_p50_ms"], 3
            )
            result[f"p{count}_lag_p99_ratio"] = round(
                figures["lag_p99_ms"] / first["lag_p99_ms"], 3
            )
    return result


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,2,4", help="consumer processes per service")
    parser.add_argument("--agencies", type=int, default=10)
    parser.add_argument("--backlog", type=int, default=2000, help="cases published at once")
    parser.add_argument("--rate", type=float, default=40.0, help="submissions/s for the lag")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the lag load runs")
    return parser.parse_args()


if __name__ == "__main__":
    outcome = asyncio.run(main(arguments()))
    for key, figure in outcome.items():
        print(f"{key:>30}: {figure}")
    print(json.dumps(outcome))
