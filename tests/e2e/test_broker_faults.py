"""Faults of the messaging layer, with the services as processes behind TCP proxies: a frozen
broker is noticed by readiness within seconds and by the heartbeat soon after; after a broker
or database outage every consumer and relay resumes by itself, everything is counted once, and
the logs say so in a line per outage (no tracebacks, no never-awaited coroutines)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from shared.settings import SERVICES, Settings
from tests.polling import eventually
from tests.system import System, with_free_ports
from tests.tcp_proxy import TcpProxy, amqp_through

pytestmark = pytest.mark.store_deadline  # it stalls the store and times the answers

HEARTBEAT_SECONDS = 2
"""Short, so that a freeze of the default run outlasts aiormq's grace of 3 × (heartbeat + 1)."""
LONG_OUTAGE_SECONDS = 70
"""An outage well past the heartbeat (the issue asks for 60 s and more)."""
READINESS_BUDGET_SECONDS = 2.0
SIGNS_OF_TROUBLE = ("Traceback", "was never awaited", "InternalClientError")


def through(proxy: TcpProxy, settings: Settings) -> dict[str, str]:
    """The environment that routes a service's AMQP connections through the proxy."""
    return {
        "ADUAN_RABBITMQ_URL": amqp_through(proxy, settings.rabbitmq_url),
        "ADUAN_RABBITMQ_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
    }


@pytest.fixture
async def system(settings: Settings, tmp_path: Path) -> AsyncIterator[System]:
    running = System(with_free_ports(settings), tmp_path)
    try:
        yield running
    finally:
        for service in list(running.processes):
            await running.stop(service)


async def start_all(system: System, env: dict[str, str]) -> None:
    for service in SERVICES:
        await system.start(service, env)


async def readiness(http: httpx.AsyncClient, system: System, service: str) -> bool:
    """Whether a service says it is ready; it must say so within its own deadline."""
    started = time.monotonic()
    answer = await http.get(f"{system.url(service)}/readyz")
    took = time.monotonic() - started
    assert took < READINESS_BUDGET_SECONDS, f"{service} /readyz took {took:.1f} s"
    assert answer.status_code in (200, 503), answer.text
    return answer.status_code == 200


async def post(http: httpx.AsyncClient, system: System, count: int, label: str) -> list[str]:
    codes = []
    for number in range(count):
        form = {"text": f"Pengaduan {label} nomor {number}: antrean loket terlalu lama."}
        answer = await http.post(f"{system.url('intake')}/intake/v1/complaints", json=form)
        assert answer.status_code == 201, answer.text
        codes.append(answer.json()["tracking_code"])
    return codes


async def all_counted_once(http: httpx.AsyncClient, system: System, codes: list[str]) -> None:
    """Every code is in the rekap, workflow's cases and the read model, each exactly once, and
    the relays have published everything."""
    settings = system.settings
    year = datetime.now(ZoneInfo(settings.timezone)).year

    async def rekap_total() -> bool:
        url = f"{system.url('reporting')}/reporting/v1/rekap?year={year}"
        total: int = (await http.get(url)).json()["total"]
        assert total <= len(codes), f"counted twice: {total} > {len(codes)}"
        return total == len(codes)

    await eventually(rekap_total, within=60, interval=0.5)
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:

        async def cases_opened() -> bool:
            opened: int = await conn.fetchval("SELECT count(*) FROM workflow.cases_events")
            return opened >= len(codes)

        try:
            await eventually(cases_opened, within=30, interval=0.2)
        except AssertionError as error:
            missing = await conn.fetch(
                "SELECT tracking_code FROM intake.submission_index WHERE case_id NOT IN "
                "(SELECT originator_id FROM workflow.cases_events)"
            )
            raise AssertionError(f"{error}; no case for {[r[0] for r in missing]}") from None
        unpublished = await conn.fetchval(
            "SELECT max(notification_id) - (SELECT position FROM intake.relay_position) "
            "FROM intake.submissions_events"
        )
        opened = await conn.fetchval("SELECT count(*) FROM workflow.cases_events")
        summary = await conn.fetch("SELECT tracking_code FROM reporting.case_summary")
    finally:
        await conn.close()
    assert unpublished == 0
    assert opened == len(codes)
    assert sorted(row["tracking_code"] for row in summary) == sorted(codes)


def assert_quiet(system: System) -> None:
    """No service logged a never-awaited coroutine or asyncpg's internal error, nor a traceback
    (but asyncpg's pool's own, on restoring its floor of connections: not the messaging layer)."""
    for service in SERVICES:
        text = (system.logs / f"{service}.log").read_text(errors="replace")
        records = re.split(r"\n(?=\d{4}-\d\d-\d\d )", text)
        troubled = [
            record
            for record in records
            if any(sign in record for sign in SIGNS_OF_TROUBLE)
            and " asyncpg.pool: " not in record.splitlines()[0]
        ]
        assert not troubled, f"{service} logged:\n" + "\n".join(troubled)


async def consumer_connection(settings: Settings, service: str) -> str | None:
    """The broker's name for a service's consumer connection (its peer address), if open."""
    api, auth = settings.management_api()
    async with httpx.AsyncClient(base_url=api, auth=auth, timeout=5) as http:
        answer = await http.get(f"/api/vhosts/{settings.rabbitmq_vhost()}/connections")
    names = [
        c["name"]
        for c in answer.json()
        if c.get("client_properties", {}).get("connection_name") == f"aduan-{service}-consumer"
    ]
    return names[0] if len(names) == 1 else None


async def all_ready(http: httpx.AsyncClient, system: System) -> bool:
    return all([await readiness(http, system, service) for service in SERVICES])


async def readiness_report(http: httpx.AsyncClient, system: System) -> dict[str, object]:
    """Every service's /readyz body, for a failure message."""
    return {s: (await http.get(f"{system.url(s)}/readyz")).json() for s in SERVICES}


async def until_all_ready(http: httpx.AsyncClient, system: System, within: float = 30) -> None:
    try:
        await eventually(lambda: all_ready(http, system), within=within, interval=0.5)
    except AssertionError as error:
        raise AssertionError(f"{error}: {await readiness_report(http, system)}") from None


@pytest.mark.long  # make test-long
async def test_a_frozen_broker_is_noticed_by_readiness_within_seconds_and_survived(
    system: System, broker_proxy: TcpProxy
) -> None:
    await start_all(system, through(broker_proxy, system.settings))
    async with httpx.AsyncClient(timeout=10) as http:
        before = await post(http, system, 5, "sebelum")
        await all_counted_once(http, system, before)
        first = await eventually(lambda: consumer_connection(system.settings, "workflow"))
        broker_proxy.freeze()
        frozen_at = time.monotonic()

        async def reporting_unready() -> bool:
            return not await readiness(http, system, "reporting")

        await eventually(reporting_unready, within=5, interval=0.2)
        assert time.monotonic() - frozen_at < 5
        # Intake's outbox and workflow's officers need no broker: both stay in service.
        assert await readiness(http, system, "intake")
        assert await readiness(http, system, "workflow")
        during = await post(http, system, 10, "selama")

        # Frozen past aiormq's grace: the heartbeat gives the silent connections up.
        await asyncio.sleep(3 * (HEARTBEAT_SECONDS + 1) + 2 - (time.monotonic() - frozen_at))
        assert not await readiness(http, system, "reporting")
        broker_proxy.thaw()
        await until_all_ready(http, system)

        async def reconnected() -> bool:
            return await consumer_connection(system.settings, "workflow") not in (None, first)

        await eventually(reconnected, within=15, interval=0.5)
        after = await post(http, system, 5, "sesudah")
        await all_counted_once(http, system, before + during + after)
    assert_quiet(system)


@pytest.mark.fault  # minutes long: make test-faults
async def test_a_long_broker_outage_is_survived_by_every_consumer_and_relay(
    system: System, broker_proxy: TcpProxy
) -> None:
    await start_all(system, through(broker_proxy, system.settings))
    async with httpx.AsyncClient(timeout=10) as http:
        before = await post(http, system, 5, "sebelum")
        broker_proxy.cut()

        async def reporting_unready() -> bool:
            return not await readiness(http, system, "reporting")

        await eventually(reporting_unready, within=5, interval=0.2)
        during = await post(http, system, 10, "selama")
        await asyncio.sleep(LONG_OUTAGE_SECONDS)  # the outage itself: nothing to wait on
        assert await readiness(http, system, "intake")
        assert await readiness(http, system, "workflow")
        broker_proxy.restore()
        await until_all_ready(http, system)
        after = await post(http, system, 5, "sesudah")
        await all_counted_once(http, system, before + during + after)
    assert_quiet(system)


@pytest.mark.fault  # minutes long: make test-faults
async def test_a_long_broker_freeze_is_survived_by_every_consumer_and_relay(
    system: System, broker_proxy: TcpProxy
) -> None:
    await start_all(system, through(broker_proxy, system.settings))
    async with httpx.AsyncClient(timeout=10) as http:
        before = await post(http, system, 5, "sebelum")
        broker_proxy.freeze()
        during = await post(http, system, 10, "selama")
        await asyncio.sleep(LONG_OUTAGE_SECONDS)  # the outage itself: nothing to wait on
        assert await readiness(http, system, "intake")
        assert not await readiness(http, system, "reporting")
        broker_proxy.thaw()
        await until_all_ready(http, system)
        after = await post(http, system, 5, "sesudah")
        await all_counted_once(http, system, before + during + after)
    assert_quiet(system)


async def restart_database(settings: Settings, proxy: TcpProxy) -> None:
    """What a server restart does to the clients of one database, without restarting it: every
    backend is told FATAL 57P01 (administrator command), then connections are refused a moment."""
    admin = await asyncpg.connect(settings.postgres_dsn("postgres"))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            settings.postgres_db,
        )
    finally:
        await admin.close()
    proxy.cut()
    await asyncio.sleep(1)  # the server is down a moment, as in a restart
    proxy.restore()


@pytest.mark.long  # make test-long
async def test_the_relay_survives_a_database_restart_quietly(
    system: System, store_proxy: TcpProxy
) -> None:
    """Intake (and so its relay) reaches PostgreSQL through the proxy; cutting it resets every
    connection as a server restart does."""
    system.settings = system.settings.model_copy(update={"postgres_port": store_proxy.port})
    await system.start("intake")
    system.settings = system.settings.model_copy(update={"postgres_port": 5432})
    await system.start("workflow")
    await system.start("reporting")
    async with httpx.AsyncClient(timeout=10) as http:
        before = await post(http, system, 3, "sebelum")
        await all_counted_once(http, system, before)
        for _ in range(2):
            await restart_database(system.settings, store_proxy)
            await eventually(lambda: readiness(http, system, "intake"), within=20, interval=0.2)
        after = await post(http, system, 3, "sesudah")
        await all_counted_once(http, system, before + after)
    intake_log = (system.logs / "intake.log").read_text(errors="replace")
    assert_quiet(system)
    assert intake_log.count("postgres unavailable") <= 2, intake_log
