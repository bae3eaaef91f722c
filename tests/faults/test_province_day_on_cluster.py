"""Acceptance (issue 20, 2): the scripted day of forty agencies (tests/e2e/province.py) on a
three-node RabbitMQ cluster of the test's own, while consumer processes are killed (SIGKILL)
and started again and one node is stopped and started again, all mid-load.

Process i of a service talks to node i (intake to node 0). Node 1 is stopped: workflow 1 and
reporting 1 lose their broker (their partitions go to the processes standing by) and the
queue leaders it held move. Workflow 2 and reporting 2 are killed and started again: they are
consumers only, the script's requests go to processes 0 and 1 (workflow 1 takes commands
while its node is away). Then nothing is lost and nothing counted twice (every rekap equals
the script's counts), and every case's order held: reporting's recorded version of each
stream is the number of events its producer stored for the case, none waits for a
predecessor, and nothing was parked."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.reporting.dead_letters import TABLE as DEAD_LETTERS
from shared.settings import SERVICES, Settings
from shared.sop import PROVINCE
from shared.topology import parking_queue
from tests.bus import bus
from tests.e2e.province import (
    DayCase,
    Fate,
    Province,
    Tokens,
    agency_ids,
    counted,
    day,
    expected_rekap,
)
from tests.faults.rabbitmq_cluster import ClusterNode
from tests.infrastructure import create_isolated
from tests.intake.conftest import signing_key
from tests.polling import eventually
from tests.servers import PrivatePostgres, PrivateRedis, settings_for
from tests.system import System, process_name, with_free_ports

pytestmark = [pytest.mark.fault, pytest.mark.cluster_day]
log = logging.getLogger(__name__)

AGENCIES = 40
CASES_PER_AGENCY = 4
PROCESSES = {"intake": 1, "workflow": 3, "reporting": 3}
FRONT = 2  # the script talks to processes 0 and 1 of workflow and reporting
STOPPED = 1  # the node stopped and started again
KILLED = 2  # the process of workflow and of reporting killed and started again
CONCURRENCY = 12
FRESH = httpx.Limits(max_keepalive_connections=0)
"""A connection per request. With kept-alive connections, twice in 15 runs a command got no
answer (ReadError) and no service logged anything; the likely cause, not proven: the test
process, starved beside seven services and three nodes, read an answer seconds after it was
sent, and reused the connection as fresh while the server was closing it as idle."""
Key = tuple[str, str, str]
STORES = {"intake": "intake.submissions_events", "workflow": "workflow.cases_events"}


@pytest.fixture
async def on_cluster(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis, cluster: list[ClusterNode]
) -> Settings:
    """A database, vhost and prefix on the test's own servers, the vhost on its cluster."""
    isolated = await create_isolated(settings_for(private_postgres, cluster[0], private_redis))
    return with_free_ports(isolated).model_copy(
        update={
            "auth_signing_key": SecretStr(signing_key()),
            "rate_ip_per_minute": 100_000,
            "rate_sender_per_minute": 100_000,
            "standby_delay_seconds": 1.0,
        }
    )


def node_url(settings: Settings, node: ClusterNode) -> str:
    """The AMQP URL of the settings' vhost on one node."""
    return urlunsplit(urlsplit(node.url)._replace(path=f"/{settings.rabbitmq_vhost()}"))


def events_of(case: DayCase) -> int:
    """How many events workflow stores at least for a case: its opening, a decline, a
    transfer, and one per command of its walk."""
    declined = case.fate in (Fate.DECLINED, Fate.QUEUED)
    transferred = case.fate in (Fate.FORWARDED, Fate.DECLINED)
    return 1 + declined + transferred + len(case.walk)


async def stored(settings: Settings, service: str) -> int:
    """How many events a producer has stored."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {STORES[service]}"))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def behind(settings: Settings, case_ids: set[str]) -> dict[str, Any]:
    """Every stream whose version in reporting is not its producer's last (per producer and
    case: stored, recorded), and the events reporting holds for a missing predecessor."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        recorded = {
            (row["source"], str(row["subject"])): row["version"]
            for row in await conn.fetch(
                "SELECT source, subject, version FROM reporting.stream_positions"
            )
        }
        different: dict[str, Any] = {}
        for service, table in STORES.items():
            rows = await conn.fetch(
                f"SELECT originator_id, max(originator_version) AS last, count(*) AS n "
                f"FROM {table} GROUP BY originator_id"
            )
            assert all(row["last"] == row["n"] for row in rows), service  # gapless stores
            last = {str(row["originator_id"]): row["last"] for row in rows}
            assert case_ids <= last.keys(), service
            for case_id in case_ids:
                seen = recorded.get((f"/aduan/{service}", case_id))
                if seen != last[case_id]:
                    different[f"{service} {case_id}"] = (last[case_id], seen)
        pending = await conn.fetchval("SELECT count(*) FROM reporting.pending_events")
        return different | ({"pending": pending} if pending else {})
    finally:
        await conn.close()


async def parked(settings: Settings) -> dict[str, int]:
    """Messages in the parking queues (counted by the broker itself: the management API's
    figures lag, and a queue just recovered has none yet), and letters reporting's
    dead-letter table holds."""
    async with bus(settings) as connected:
        queues = {
            queue: await connected.depth(queue)
            for queue in (parking_queue(service) for service in SERVICES)
        }
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        letters = int(await conn.fetchval(f"SELECT count(*) FROM {DEAD_LETTERS}"))
    except asyncpg.UndefinedTableError:
        letters = 0
    finally:
        await conn.close()
    return {name: n for name, n in queues.items() if n} | ({"letters": letters} if letters else {})


@dataclasses.dataclass
class Faults:
    """The faults, each injected once the day has got so far; whether the day was still
    under way at each."""

    system: System
    cluster: list[ClusterNode]
    urls: dict[str, str]  # process name: its node's AMQP URL
    load: asyncio.Task[Any] | None = None
    mid_load: dict[str, bool] = dataclasses.field(default_factory=dict)
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    restarts: list[asyncio.Task[None]] = dataclasses.field(default_factory=list)

    async def start(self, service: str, instance: int) -> None:
        """Start (again) one process of a service, on its node."""
        name = process_name(service, instance)
        await self.system.start(
            service,
            {"ADUAN_RABBITMQ_URL": self.urls[name]},
            instance=instance,
            instances=PROCESSES[service],
        )

    async def when(self, service: str, count: int) -> None:
        """Wait until the producer has stored `count` events."""

        async def reached() -> bool:
            if self.load is not None and self.load.done() and self.load.exception():
                raise AssertionError("the day failed") from self.load.exception()
            return await stored(self.system.settings, service) >= count

        await eventually(reached, within=120, interval=0.2)

    async def inject(self, what: str, fault: Callable[[], Awaitable[None]]) -> None:
        assert self.load is not None
        self.mid_load[what] = not self.load.done()
        began = time.monotonic()
        await fault()
        self.seconds[what] = round(time.monotonic() - began, 1)

    async def kill(self, service: str) -> None:
        """SIGKILL the process; it starts again in the background (the day goes on)."""
        await self.system.stop(process_name(service, KILLED), kill=True)
        started = self.inject(f"{service} started", lambda: self.start(service, KILLED))
        self.restarts.append(asyncio.create_task(started))

    async def run(self, cases: list[DayCase]) -> None:
        """Mid-submissions: reporting 2 killed. Mid-walk: workflow 2 killed, node 1 stopped
        (both killed processes start again meanwhile), node 1 started again."""
        walked = sum(events_of(case) for case in cases)
        node = self.cluster[STOPPED]
        await self.when("intake", len(cases) // 3)
        await self.inject("reporting killed", lambda: self.kill("reporting"))
        await self.when("workflow", walked // 5)
        await self.inject("workflow killed", lambda: self.kill("workflow"))
        await self.inject("node stopped", lambda: asyncio.to_thread(node.stop))
        await self.when("workflow", walked // 2)
        await self.inject("node started", lambda: asyncio.to_thread(node.start))
        await asyncio.gather(*self.restarts)


async def test_a_day_of_forty_agencies_rides_out_a_killed_consumer_and_a_node_restart(
    on_cluster: Settings, cluster: list[ClusterNode], tmp_path: Path
) -> None:
    started = time.monotonic()
    tokens = Tokens(on_cluster)
    agencies = agency_ids(AGENCIES)
    cases = day(agencies, CASES_PER_AGENCY)
    system = System(on_cluster, tmp_path, ready_within=90)
    urls = {
        process_name(service, i): node_url(on_cluster, cluster[i])
        for service, count in PROCESSES.items()
        for i in range(count)
    }
    faults = Faults(system, cluster, urls)
    try:
        await asyncio.gather(
            *(faults.start(s, i) for s, count in PROCESSES.items() for i in range(count))
        )
        async with httpx.AsyncClient(timeout=30, limits=FRESH) as http:
            province = Province(
                http,
                system.url("intake"),
                [system.url("workflow", i) for i in range(PROCESSES["workflow"])],
                [system.url("reporting", i) for i in range(PROCESSES["reporting"])],
                tokens,
            )
            await province.register(agencies)  # every process knows them
            front = dataclasses.replace(
                province,
                workflows=province.workflows[:FRONT],
                reportings=province.reportings[:FRONT],
            )
            ready = time.monotonic() - started
            faults.load = asyncio.create_task(front.walk(cases, CONCURRENCY))
            await faults.run(cases)
            _, ids = await faults.load
            walked = time.monotonic() - started

            await _caught_up(on_cluster, cluster[0], set(ids.values()))
            year = datetime.now(ZoneInfo(on_cluster.timezone)).year
            expected = expected_rekap(cases)
            await _projected(on_cluster, front, expected, year)
            await front.each_agencys_rekap(agencies, expected, year, CONCURRENCY)
            assert await parked(on_cluster) == {}
    finally:
        for task in [faults.load, *faults.restarts]:  # left running by a failure
            if task is not None:
                task.cancel()
        await asyncio.gather(*(system.stop(name) for name in list(system.processes)))
    log.warning(
        "province day on the cluster: ready in %.1f s, walked at %.1f s, checked at %.1f s; "
        "faults (s): %s; during the day: %s; sent again after a 503: %s",
        ready,
        walked,
        time.monotonic() - started,
        faults.seconds,
        [what for what, during in faults.mid_load.items() if during],
        front.retried,
    )
    # each fault hit the day under way (the node and the processes may come back after it)
    hit = {"reporting killed", "workflow killed", "node stopped"}
    assert {what for what, during in faults.mid_load.items() if during} >= hit, faults.mid_load


async def _projected(
    settings: Settings, front: Province, expected: dict[str, Counter[Key]], year: int
) -> None:
    """The province's rekap equals the script's counts within a deadline (else where the
    script, the cases' summaries, the rekap table and the API's answer part)."""
    try:
        await eventually(lambda: front.projected(expected, year), within=10)
    except AssertionError:
        conn = await asyncpg.connect(settings.postgres_dsn())
        try:
            grouped = "agency, kind, status, channel"
            summaries = await conn.fetch(
                f"SELECT {grouped}, count(*) AS n FROM reporting.case_summary GROUP BY {grouped}"
            )
            cube = await conn.fetch(
                f"SELECT {grouped}, sum(count) AS n FROM reporting.rekap "
                f"WHERE year = $1 GROUP BY {grouped}",
                year,
            )
        finally:
            await conn.close()

        def of(rows: list[asyncpg.Record]) -> Counter[tuple[str, ...]]:
            return Counter({tuple(row[k] for k in grouped.split(", ")): row["n"] for row in rows})

        script: Counter[tuple[str, ...]] = Counter(
            {(agency, *key): n for agency, counts in expected.items() for key, n in counts.items()}
        )
        whole = await front.rekap(PROVINCE, year, front.tokens.coordinator)
        parted = {"summaries": of(summaries), "rekap table": of(cube)}
        apart = {
            name: {
                k: (script.get(k), v.get(k))
                for k in script.keys() | v.keys()
                if script.get(k) != v.get(k)
            }
            for name, v in parted.items()
        }
        raise AssertionError(
            f"the province's rekap is not the script's within 10 s; (script, read) where they "
            f"part: {apart}; the answer's total {whole['total']} (script "
            f"{script.total()}), its rows apart from the script's sum: "
            f"{counted(whole) - sum(expected.values(), Counter())} and "
            f"{sum(expected.values(), Counter()) - counted(whole)}"
        ) from None


async def _caught_up(settings: Settings, node: ClusterNode, case_ids: set[str]) -> None:
    """Every stream recorded at its producer's last version, within a deadline (else which
    are behind, and the queues still holding messages)."""
    last: dict[str, Any] = {}

    async def caught_up() -> bool:
        last.clear()
        last.update(await behind(settings, case_ids))
        return not last

    try:
        await eventually(caught_up, within=120, interval=0.5)
    except AssertionError:
        api = f"http://127.0.0.1:{node.management_port}/api/queues/{settings.rabbitmq_vhost()}"
        async with httpx.AsyncClient(auth=("guest", "guest"), timeout=10) as http:
            queues = {
                queue["name"]: (queue.get("messages"), queue.get("consumers"))
                for queue in (await http.get(api)).json()
                if queue.get("messages")
            }
        raise AssertionError(
            f"{len(last)} streams behind (stored, recorded): {last}; "
            f"queues holding messages (messages, consumers): {queues}"
        ) from None
