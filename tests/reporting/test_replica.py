"""Reporting's reads on a streaming replica: a private primary and a hot standby of it
(tests/servers.py), reporting run as a process against both, events through the real broker.

Reads are shown to come from the replica by pausing its replay: the primary's read model moves
on, reporting's answers do not until replay resumes. With the replica stopped, reads go to the
primary (a case projected after the stop is found), and /readyz says so without going unready.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.reporting.app import SCHEMA, create_tables
from services.reporting.last_good import STALE_HEADER
from services.reporting.tenancy import READER, Scope, read_as
from shared.db import Connection, Pool, Replicated, create_pool, ensure_schema
from shared.events import Envelope
from shared.settings import Settings
from tests.bus import bus
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.polling import eventually
from tests.reporting.test_tenancy import GUARDED, A, B, apply, count, escalated
from tests.samples import case_opened, complaint_received
from tests.servers import PrivatePostgres, PrivateReplica, started
from tests.system import running, with_free_ports


@pytest.fixture
def primary() -> Iterator[PrivatePostgres]:
    with started(PrivatePostgres()) as server:
        yield server


@pytest.fixture
def replica(primary: PrivatePostgres) -> Iterator[PrivateReplica]:
    with started(PrivateReplica(primary)) as server:
        yield server


@pytest.fixture
async def replicated(primary: PrivatePostgres, replica: PrivateReplica) -> AsyncIterator[Settings]:
    """This test's database on the private primary, read from its replica; the machine's
    RabbitMQ and Redis (a vhost and a prefix of this test's own)."""
    base = base_settings().model_copy(
        update={
            "postgres_port": primary.port,
            "postgres_replica_host": "127.0.0.1",
            "postgres_replica_port": replica.port,
        }
    )
    isolated = await create_isolated(base)

    async def on_the_replica() -> bool:  # its CREATE DATABASE replayed there too
        try:
            conn = await asyncpg.connect(isolated.postgres_dsn(replica=True))
        except asyncpg.InvalidCatalogNameError:
            return False
        await conn.close()
        return True

    try:
        assert await eventually(on_the_replica, within=10)
        yield isolated
    finally:
        await destroy_isolated(isolated)


def opened(settings: Settings) -> list[Envelope]:
    received = complaint_received(agency=settings.agency)
    return [received, case_opened(received)]


def code_of(events: list[Envelope]) -> str:
    return str(events[0].data.model_dump()["tracking_code"])


async def on_primary(settings: Settings, events: list[Envelope]) -> bool:
    """Whether the primary's read model has the case (reporting projected it)."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        query = f"SELECT count(*) FROM {SCHEMA}.case_summary WHERE tracking_code = $1"
        return bool(await conn.fetchval(query, code_of(events)))
    finally:
        await conn.close()


async def replay(settings: Settings, action: str) -> None:
    """Pause or resume the replica's replay of the primary's WAL, and wait until it has."""
    conn = await asyncpg.connect(settings.postgres_dsn(replica=True))
    try:
        await conn.execute(f"SELECT pg_wal_replay_{action}()")
        state = "paused" if action == "pause" else "not paused"

        async def reached() -> bool:
            return bool(await conn.fetchval("SELECT pg_get_wal_replay_pause_state()") == state)

        await eventually(reached, within=10)
    finally:
        await conn.close()


async def test_reporting_reads_from_the_replica_and_from_the_primary_while_it_is_away(
    replicated: Settings, replica: PrivateReplica, tmp_path: Path
) -> None:
    settings = with_free_ports(replicated)
    async with (
        running(settings, tmp_path, services=("reporting",)) as system,
        bus(settings) as feed,
        httpx.AsyncClient(base_url=system.url("reporting"), timeout=10) as http,
    ):

        async def tracked(events: list[Envelope]) -> int:
            answer = await http.get(f"/reporting/v1/track/{code_of(events)}")
            assert STALE_HEADER not in answer.headers  # never a kept copy: read now
            return answer.status_code

        async def found(events: list[Envelope]) -> bool:
            return await tracked(events) == 200

        first = opened(settings)
        await feed.publish(*first)
        assert await eventually(lambda: found(first), within=15)

        await replay(settings, "pause")  # the replica stands still; the primary moves on
        second = opened(settings)
        await feed.publish(*second)
        assert await eventually(lambda: on_primary(settings, second), within=15)
        assert await tracked(second) == 404  # read from the replica, which has not replayed it
        await replay(settings, "resume")
        assert await eventually(lambda: found(second), within=10)

        ready = (await http.get("/readyz")).json()
        assert ready["ready"]
        assert "degraded" not in ready
        await asyncio.to_thread(replica.stop)
        third = opened(settings)  # projected after the stop: only the primary has it
        await feed.publish(*third)
        assert await eventually(lambda: on_primary(settings, third), within=15)
        assert [await tracked(events) for events in (first, second, third)] == [200] * 3
        ready = (await http.get("/readyz")).json()
        assert ready["ready"]
        assert ready["degraded"] == ["replica"]  # ready all the same: the primary answers
        metrics = (await http.get("/metrics")).text
        assert f'aduan_replica_up{{replica="127.0.0.1:{replica.port}"}} 0.0' in metrics
        assert "read replica 127.0.0.1" in system.log_tail("reporting")

        await asyncio.to_thread(replica.start)  # back: reads return to it

        async def recovered() -> bool:
            return "degraded" not in (await http.get("/readyz")).json()

        assert await eventually(recovered, within=10)
        await replay(settings, "pause")
        fourth = opened(settings)
        await feed.publish(*fourth)
        assert await eventually(lambda: on_primary(settings, fourth), within=15)
        assert await tracked(fourth) == 404  # the replica's answer again


@pytest.fixture
async def pools(replicated: Settings) -> AsyncIterator[tuple[Pool, Pool]]:
    """The read model made on the primary, and a pool of each server."""
    await ensure_schema(replicated, SCHEMA)
    primary = await create_pool(replicated, search_path=SCHEMA, max_size=1)
    replica = await create_pool(replicated, search_path=SCHEMA, max_size=1, replica=True)
    try:
        await create_tables(primary)
        yield primary, replica
    finally:
        await replica.close()
        await primary.close()


async def test_a_read_on_the_replica_for_one_agency_cannot_see_anothers_rows(
    replicated: Settings, pools: tuple[Pool, Pool]
) -> None:
    primary, replica = pools
    await apply(primary, escalated(A) + escalated(B))

    async def replayed() -> bool:
        async with replica.acquire() as conn:  # as the owner: every agency's rows
            try:
                return await count(conn, table="case_summary") == 2
            except asyncpg.UndefinedTableError:  # the tables themselves not replayed yet
                return False

    assert await eventually(replayed, within=10)
    reads = Replicated(replicated, primary, replica)

    async def asking_for_b(conn: Connection) -> tuple[bool, str, dict[str, tuple[int, int]]]:
        standby = bool(await conn.fetchval("SELECT pg_is_in_recovery()"))
        who = str(await conn.fetchval("SELECT current_user"))
        seen = {
            table: (
                await count(conn, table=table, where=f"agency = '{B}'"),
                await count(conn, table=table),
            )
            for table in GUARDED
        }
        return standby, who, seen

    standby, who, seen = await read_as(reads, Scope.of(A), asking_for_b)
    assert (standby, who) == (True, READER)
    async with replica.acquire() as conn:
        for table in GUARDED:
            mine = await count(conn, table=table, where=f"agency = '{A}'")
            assert seen[table] == (0, mine), table
    _, _, of_b = await read_as(reads, Scope.of(B), asking_for_b)
    assert of_b["case_summary"] == (1, 1)
    assert not reads.away
