"""Public reads are limited per address: one address reading the rekap, the dashboard, tracking
and Open311 in a loop held every database connection, and officers' reads waited past their
deadline (503). Past the limit it is a 429 with Retry-After for that address alone; officers'
own reads and other addresses are answered as before."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import httpx
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from services.reporting.app import create_app
from shared.limits import WINDOW_SECONDS
from shared.settings import Settings
from shared.sop import Role
from tests.reporting.conftest import Desk

LIMIT = 8


Client = Callable[[str], httpx.AsyncClient]


@contextlib.asynccontextmanager
async def office(settings: Settings) -> AsyncIterator[tuple[Client, Desk]]:
    """Reporting with the public reads' limit at LIMIT, its reads in one window: a client from
    any address, and a desk to sign officers' requests."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    limited = settings.model_copy(
        update={"rate_public_reads_per_minute": LIMIT, "auth_signing_key": SecretStr(pem)}
    )
    app = create_app(limited)
    into_window = time.time() % WINDOW_SECONDS
    if into_window > WINDOW_SECONDS - 10:  # the reads must share one window
        await asyncio.sleep(WINDOW_SECONDS - into_window)
    async with LifespanManager(app, startup_timeout=30) as manager:

        def client(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=manager.app, client=(address, 40000))
            return httpx.AsyncClient(transport=transport, base_url="http://aduan.test")

        yield client, Desk(None, None, limited, key)  # type: ignore[arg-type]


def reads() -> list[str]:
    now = datetime.now()
    return [
        "/reporting/v1/rekap",
        f"/reporting/v1/dashboard?year={now.year}&month={now.month}",
        "/reporting/v1/rekap/years.csv?from=2020&to=2026",
        "/reporting/v1/track/7K3M-9QXP",
        "/open311/v2/services.json",
    ]


async def test_one_address_reading_in_a_loop_is_limited_alone(settings: Settings) -> None:
    paths = reads()
    async with (
        office(settings) as (client, desk),
        client("198.51.100.7") as stranger,
        client("198.51.100.8") as citizen,
    ):
        answers = [await stranger.get(paths[i % len(paths)]) for i in range(LIMIT + 5)]
        statuses = [answer.status_code for answer in answers]
        assert 429 not in statuses[:LIMIT], statuses
        assert statuses[LIMIT:] == [429] * 5, statuses
        refused = answers[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "/problems/rate-limited"
        assert 0 < int(refused.headers["retry-after"]) <= WINDOW_SECONDS + 1
        for path in paths:  # another address reads as before
            assert (await citizen.get(path)).status_code != 429, path
        officer = desk.headers(Role.TIM_PENGADUAN)
        worklist = await stranger.get("/reporting/v1/worklist?role=tim_pengaduan", headers=officer)
        assert worklist.status_code == 200, worklist.text  # not a public read


async def test_an_ipv6_client_rotating_its_addresses_is_limited_by_its_network(
    settings: Settings,
) -> None:
    """A line is given a whole /64: a stranger reading from a new address of it each time is
    still one client. Another /64 reads as before; an IPv4 written as IPv6 is that IPv4."""
    path = "/reporting/v1/rekap"
    async with office(settings) as (client, _):
        statuses = []
        for host in range(LIMIT + 3):  # each read from another address of the same /64
            async with client(f"2001:db8:7:1:{host:x}:a1:b2:c3") as stranger:
                statuses.append((await stranger.get(path)).status_code)
        assert 429 not in statuses[:LIMIT], statuses
        assert statuses[LIMIT:] == [429] * 3, statuses
        async with client("2001:db8:7:2::1") as neighbour:  # the next /64: another line
            assert (await neighbour.get(path)).status_code == 200
        async with client("198.51.100.9") as plain:
            for _ in range(LIMIT - 1):
                assert (await plain.get(path)).status_code == 200
        async with client("::FFFF:C633:6409") as mapped:  # 198.51.100.9, written as IPv6
            assert (await mapped.get(path)).status_code == 200  # its LIMIT-th read
            assert (await mapped.get(path)).status_code == 429
