"""Public reads are limited per address: one address reading the rekap, the dashboard, tracking
and Open311 in a loop held every database connection, and officers' reads waited past their
deadline (503). Past the limit it is a 429 with Retry-After for that address alone; officers'
own reads and other addresses are answered as before."""

from __future__ import annotations

import asyncio
import time
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


async def test_one_address_reading_in_a_loop_is_limited_alone(settings: Settings) -> None:
    now = datetime.now()
    reads = [
        "/reporting/v1/rekap",
        f"/reporting/v1/dashboard?year={now.year}&month={now.month}",
        "/reporting/v1/rekap/years.csv?from=2020&to=2026",
        "/reporting/v1/track/7K3M-9QXP",
        "/open311/v2/services.json",
    ]
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

        async with client("198.51.100.7") as stranger, client("198.51.100.8") as citizen:
            answers = [await stranger.get(reads[i % len(reads)]) for i in range(LIMIT + 5)]
            statuses = [answer.status_code for answer in answers]
            assert 429 not in statuses[:LIMIT], statuses
            assert statuses[LIMIT:] == [429] * 5, statuses
            refused = answers[-1]
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "/problems/rate-limited"
            assert 0 < int(refused.headers["retry-after"]) <= WINDOW_SECONDS + 1
            for path in reads:  # another address reads as before
                assert (await citizen.get(path)).status_code != 429, path
            officer = Desk(stranger, None, limited, key).headers(Role.TIM_PENGADUAN)  # type: ignore[arg-type]
            worklist = await stranger.get(
                "/reporting/v1/worklist?role=tim_pengaduan", headers=officer
            )
            assert worklist.status_code == 200, worklist.text  # not a public read
