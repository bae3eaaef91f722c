"""What every bench needs: isolated infrastructure, processes it starts and stops, load."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx

from shared.settings import Settings
from tests.infrastructure import base_settings, create_isolated, destroy_isolated, environment
from tests.system import with_free_ports

ROOT = Path(__file__).resolve().parents[1]


@contextlib.asynccontextmanager
async def isolated() -> AsyncIterator[Settings]:
    """A fresh database, vhost and Redis prefix on free ports; dropped at the end. Pools as
    deployed (the tests' are sized for many systems at once), no per-address limits."""
    unlimited = {
        "rate_ip_per_minute": 10_000_000,
        "rate_sender_per_minute": 10_000_000,
        "postgres_pool_size": Settings().postgres_pool_size,
    }
    settings = with_free_ports(await create_isolated(base_settings())).model_copy(update=unlimited)
    try:
        yield settings
    finally:
        await destroy_isolated(settings)


@contextlib.asynccontextmanager
async def process(
    module: str, settings: Settings, ready_url: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run `python -m module` with these settings until the block ends (the block gets it)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        cwd=ROOT,
        env=os.environ | environment(settings),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=1) as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(ready_url)).status_code == 200:
                        break
                if time.monotonic() > deadline or child.returncode is not None:
                    raise RuntimeError(f"{module} did not start")
                await asyncio.sleep(0.1)
        yield child
    finally:
        child.terminate()
        await child.wait()


@dataclass
class Load:
    """What a load run saw."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    answers: list[bytes] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Accepted requests per second."""
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[int(p) - 1] * 1000


async def closed_loop(url: str, body: bytes | None, *, concurrency: int, seconds: float) -> Load:
    """`concurrency` clients back to back for `seconds` (POST `body`, or GET if None)."""
    result = Load(seconds)
    headers = {"content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                method = "GET" if body is None else "POST"
                async with session.request(method, url, data=body, headers=headers) as answer:
                    text = await answer.read()
                if 200 <= answer.status < 300:
                    result.latencies.append(time.perf_counter() - started)
                    result.answers.append(text)
                else:
                    result.failures += 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return result


async def open_loop(
    url: str, body: bytes, *, rate: float, seconds: float
) -> list[tuple[float, bytes]]:
    """Post at a fixed rate; (time answered, answer) of every accepted request."""
    answered: list[tuple[float, bytes]] = []
    headers = {"content-type": "application/json"}
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            async with session.post(url, data=body, headers=headers) as answer:
                text = await answer.read()
            if answer.status == 201:
                answered.append((time.perf_counter(), text))

        tasks = []
        start = time.perf_counter()
        for number in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + number / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return answered
