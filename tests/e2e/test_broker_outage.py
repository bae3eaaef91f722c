"""Acceptance: with RabbitMQ unreachable intake still answers 201, and nothing is lost."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from shared.settings import Settings
from tests.polling import eventually
from tests.system import System, with_free_ports
from tests.tcp_proxy import TcpProxy, amqp_through

pytestmark = pytest.mark.store_deadline  # it stalls the store and times the answers


async def post_complaints(http: httpx.AsyncClient, system: System, count: int) -> list[str]:
    codes = []
    for number in range(count):
        form = {"text": f"Pengaduan nomor {number}: antrean loket terlalu lama."}
        answer = await http.post(f"{system.url('intake')}/intake/v1/complaints", json=form)
        assert answer.status_code == 201, answer.text
        codes.append(answer.json()["tracking_code"])
    return codes


async def test_broker_outage_loses_nothing_and_duplicates_nothing(
    settings: Settings, tmp_path: Path, broker_proxy: TcpProxy
) -> None:
    settings = with_free_ports(settings)
    system = System(settings, tmp_path)
    year = datetime.now(ZoneInfo(settings.timezone)).year
    try:
        await system.start(
            "intake", {"ADUAN_RABBITMQ_URL": amqp_through(broker_proxy, settings.rabbitmq_url)}
        )
        await system.start("workflow")
        await system.start("reporting")
        async with httpx.AsyncClient(timeout=10) as http:
            before = await post_complaints(http, system, 10)
            broker_proxy.cut()
            during = await post_complaints(http, system, 20)

            async def rekap_total() -> int:
                url = f"{system.url('reporting')}/reporting/v1/rekap?year={year}"
                total: int = (await http.get(url)).json()["total"]
                return total

            async def all_counted() -> bool:
                return await rekap_total() == 30

            assert await rekap_total() <= 10
            broker_proxy.restore()
            assert await eventually(all_counted, within=30)

        conn = await asyncpg.connect(settings.postgres_dsn())
        try:

            async def cases_opened() -> int:
                # Reporting counts intake's events; workflow opens its cases from the same
                # events on its own queue, possibly a moment later.
                opened: int = await conn.fetchval("SELECT count(*) FROM workflow.cases_events")
                return opened if opened >= 30 else 0

            cases = await eventually(cases_opened, within=30)
            unpublished = await conn.fetchval(
                "SELECT max(notification_id) - (SELECT position FROM intake.relay_position) "
                "FROM intake.submissions_events"
            )
            summary = await conn.fetch("SELECT tracking_code FROM reporting.case_summary")
        finally:
            await conn.close()
        assert unpublished == 0
        assert cases == 30
        assert sorted(row["tracking_code"] for row in summary) == sorted(before + during)
    finally:
        for service in list(system.processes):
            await system.stop(service)
