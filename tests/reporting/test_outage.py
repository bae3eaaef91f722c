"""Reporting while its database is away: every endpoint answers within 2 s, public reads from
the last good copy (marked), the rest 503 with Retry-After; readiness follows; nothing is lost.

Reporting runs as a process whose PostgreSQL is a TCP proxy in front of the machine's server:
`cut()` refuses and resets (a stopped server), `freeze()` passes no bytes (a hung one).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from services.reporting.last_good import STALE_HEADER
from shared.events import Envelope
from shared.settings import Settings
from shared.sop import Role
from tests.bus import bus, park
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import answered_directly, complaint_received
from tests.system import System, with_free_ports
from tests.tcp_proxy import TcpProxy

PROMISE = 2.0  # seconds: every endpoint answers within this while the database is away


@dataclass
class Away:
    """Reporting behind a proxy to PostgreSQL, the bus that feeds it, officers' tokens."""

    desk: Desk
    proxy: TcpProxy
    system: System


@pytest.fixture
async def away(settings: Settings, tmp_path: Path) -> AsyncIterator[Away]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    configured = with_free_ports(settings).model_copy(
        update={"auth_signing_key": SecretStr(pem), "internal_token": SecretStr("rahasia")}
    )
    proxy = TcpProxy(configured.postgres_host, configured.postgres_port)
    await proxy.start()
    system = System(configured, tmp_path)
    try:
        await system.start("reporting", {"ADUAN_POSTGRES_PORT": str(proxy.port)})
        async with (
            bus(configured) as connected,
            httpx.AsyncClient(base_url=system.url("reporting"), timeout=30) as http,
        ):
            yield Away(Desk(http, connected, configured, key), proxy, system)
    finally:
        proxy.thaw()
        await proxy.stop()
        for service in list(system.processes):
            await system.stop(service)


def code_of(envelope: Envelope) -> str:
    return str(envelope.data.model_dump()["tracking_code"])


def year() -> int:
    return datetime.now(ZoneInfo("Asia/Jakarta")).year


def month() -> int:
    return datetime.now(ZoneInfo("Asia/Jakarta")).month


def public_reads(code: str) -> list[str]:
    """What the public reads and keeps reading from the last good copy."""
    y = year()
    return [
        f"/reporting/v1/rekap?year={y}",
        f"/reporting/v1/rekap?group_by=channel&year={y}",
        f"/reporting/v1/rekap/years?from={y - 1}&to={y}",
        f"/reporting/v1/rekap/years.csv?from={y - 1}&to={y}",
        f"/reporting/v1/rekap.csv?group_by=channel&year={y}",
        f"/reporting/v1/track/{code}",
    ]


def needing_the_database(unseen_code: str) -> list[tuple[str, str, Role | None]]:
    """(method, path, role) of every endpoint that answers 503 while the database is away."""
    y, m = year(), month()
    return [
        ("GET", f"/reporting/v1/track/{unseen_code}", None),
        ("GET", f"/reporting/v1/rekap?year={y - 1}", None),  # never read before
        ("GET", f"/reporting/v1/compliance?year={y}", None),
        ("GET", f"/reporting/v1/consultations?year={y}", None),
        ("GET", f"/reporting/v1/satisfaction?year={y}", None),
        ("GET", f"/reporting/v1/dashboard?year={y}&month={m}", None),
        ("GET", f"/reporting/v1/dashboard/channels.svg?year={y}&month={m}", None),
        ("GET", f"/reporting/v1/dashboard/trend.csv?year={y}&month={m}", None),
        ("GET", f"/reporting/v1/recaps/{y}/{m}", None),
        ("POST", f"/reporting/v1/recaps/{y}/{m}", Role.ADMIN),
        ("GET", f"/reporting/v1/recaps/{y}/{m}/rekap.pdf", Role.ADMIN),
        ("GET", "/reporting/v1/worklist?role=tim_pengaduan", Role.TIM_PENGADUAN),
        ("GET", "/reporting/v1/cases", Role.ADMIN),
        ("GET", "/reporting/v1/cases.xlsx", Role.ADMIN),
        ("GET", "/reporting/v1/operations/dead-letters", Role.ADMIN),
    ]


async def timed(
    desk: Desk, method: str, path: str, role: Role | None = None
) -> tuple[httpx.Response, float]:
    headers = desk.headers(role) if role else {}
    started = time.monotonic()
    answer = await desk.http.request(method, path, headers=headers)
    return answer, time.monotonic() - started


async def readiness(desk: Desk) -> tuple[int, float]:
    answer, took = await timed(desk, "GET", "/readyz")
    return answer.status_code, took


async def prepare(away: Away) -> tuple[Envelope, Envelope]:
    """A resolved complaint, read once by the public, and another never tracked;
    one dead letter whose body needs the read model to be masked."""
    plain = complaint_received()
    unseen = complaint_received()
    await away.desk.bus.publish(*answered_directly(plain, "Izin Anda terbit.", at=plain.time))
    await away.desk.bus.publish(unseen)
    await park(away.desk.settings, complaint_received(), "reporting")

    async def projected() -> bool:
        answers = [await away.desk.http.get(path) for path in public_reads(code_of(plain))]
        return (
            all(a.status_code == 200 for a in answers)
            and answers[0].json()["total"] == 2  # the unseen one counted, never tracked
            and answers[-1].json()["status"] == "resolved"
        )

    assert await eventually(projected, within=20)
    return plain, unseen


async def rekap_total(desk: Desk) -> int:
    answer = await desk.http.get(f"/reporting/v1/rekap?year={year()}")
    total: int = answer.json()["total"] if answer.headers.get(STALE_HEADER) is None else -1
    return total


@pytest.mark.parametrize("fault", ["cut", "freeze"])
async def test_every_endpoint_answers_within_two_seconds_while_the_database_is_away(
    away: Away, fault: str
) -> None:
    desk = away.desk
    plain, unseen = await prepare(away)
    before = {path: (await desk.http.get(path)).content for path in public_reads(code_of(plain))}
    away.proxy.cut() if fault == "cut" else away.proxy.freeze()

    async def not_ready() -> bool:
        status, took = await readiness(desk)
        assert took < PROMISE, f"/readyz took {took:.1f} s"
        return status == 503

    assert await eventually(not_ready, within=5, interval=0.2)
    for path in public_reads(code_of(plain)):
        answer, took = await timed(desk, "GET", path)
        assert took < PROMISE, f"{path} took {took:.1f} s"
        assert answer.status_code == 200, (path, answer.text)
        assert answer.headers[STALE_HEADER], path
        assert answer.content == before[path], path
    for method, path, role in needing_the_database(code_of(unseen)):
        answer, took = await timed(desk, method, path, role)
        assert took < PROMISE, f"{method} {path} took {took:.1f} s"
        assert answer.status_code == 503, (method, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", path
        assert int(answer.headers["retry-after"]) > 0
        assert answer.json()["type"] == "/problems/store-unavailable"
    token = desk.headers(Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    started = time.monotonic()
    async with desk.http.stream(
        "GET", f"/reporting/v1/operations/events?access_token={token}"
    ) as stream:
        assert stream.status_code == 200  # the live stream needs Redis, not the database
        assert time.monotonic() - started < PROMISE

    later = complaint_received()
    await desk.bus.publish(later)  # acknowledged by the broker while the database is away
    away.proxy.restore() if fault == "cut" else away.proxy.thaw()

    async def ready() -> bool:
        return (await readiness(desk))[0] == 200

    assert await eventually(ready, within=10, interval=0.2)
    assert await eventually(lambda: _counted(desk, 3), within=20)
    fresh = await desk.http.get(f"/reporting/v1/track/{code_of(plain)}")
    assert STALE_HEADER not in fresh.headers
    log = away.system.log_tail("reporting", 400)
    assert "Traceback" not in log, log
    assert log.count("postgres unavailable") == 1, log


async def _counted(desk: Desk, expected: int) -> bool:
    return await rekap_total(desk) == expected
