"""The read model applies each stream in order and once, whatever the delivery order."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.reporting.app import SCHEMA, create_tables
from services.reporting.read_model import ReadModel
from shared.db import Pool, create_pool, ensure_schema
from shared.events import Envelope
from shared.events import workflow as wf
from shared.settings import Settings
from tests.samples import case_opened, complaint_received, workflow_event

RECEIVED = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)  # 1 April 01:00 in Jakarta


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[Pool]:
    await ensure_schema(settings, SCHEMA)
    created = await create_pool(settings, search_path=SCHEMA)
    await create_tables(created)
    try:
        yield created
    finally:
        await created.close()


async def apply(pool: Pool, envelopes: list[Envelope]) -> None:
    model = ReadModel("Asia/Jakarta")
    async with pool.acquire() as conn:
        for envelope in envelopes:
            async with conn.transaction():
                await model.apply(conn, envelope)


TABLES = (
    "SELECT * FROM case_summary ORDER BY case_id",
    "SELECT * FROM rekap ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
    "SELECT * FROM step_times ORDER BY 1, 2",
    "SELECT * FROM stream_positions ORDER BY 1, 2",
    "SELECT source, subject, version FROM pending_events ORDER BY 1, 2, 3",
)


async def snapshot(pool: Pool) -> tuple[list[tuple[object, ...]], ...]:
    async with pool.acquire() as conn:
        tables = []
        for query in TABLES:
            tables.append([tuple(row) for row in await conn.fetch(query)])
        await conn.execute(
            "TRUNCATE case_summary, rekap, step_times, stream_positions, pending_events"
        )
    return tuple(tables)


def a_complaints_life() -> list[Envelope]:
    received = complaint_received(received_at=RECEIVED)
    later = RECEIVED + timedelta(days=30)
    return [
        received,
        case_opened(received),
        workflow_event(
            wf.Escalated,
            received,
            2,
            later,
            step="identification",
            working_minutes=900.0,
            within_standard=False,
            next_step="verification",
        ),
        workflow_event(wf.InformationRequested, received, 3, later, step="verification"),
        workflow_event(wf.CaseRejected, received, 4, later, step="verification", referred_to="BPN"),
    ]


async def test_any_delivery_order_with_duplicates_gives_the_in_order_result(pool: Pool) -> None:
    in_order = a_complaints_life()
    await apply(pool, in_order)
    expected = await snapshot(pool)
    [case] = expected[0]
    assert case[9] == "rejected"
    assert expected[1][0][-2:] == ("late", 1)
    assert len(expected[2]) == 1  # one step done: identification
    for order in itertools.permutations(in_order):
        await apply(pool, [*order, *order[:2]])
        assert await snapshot(pool) == expected, [e.type for e in order]


async def test_one_batch_in_any_order_with_duplicates_gives_the_in_order_result(
    pool: Pool,
) -> None:
    in_order = a_complaints_life()
    await apply(pool, in_order)
    expected = await snapshot(pool)
    model = ReadModel("Asia/Jakarta")
    for order in itertools.permutations(in_order):
        async with pool.acquire() as conn, conn.transaction():
            applied = await model.apply_batch(conn, [*order, *order[:2]])
        assert [(e.source, e.streamversion) for e in applied if e.source.endswith("workflow")] == [
            ("/aduan/workflow", n) for n in range(1, 5)
        ]
        assert await snapshot(pool) == expected, [e.type for e in order]


async def test_a_case_counts_in_the_month_of_the_office_time_zone(pool: Pool) -> None:
    await apply(pool, [complaint_received(received_at=RECEIVED)])
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT year, month, status, timeliness, count FROM rekap")
    assert [tuple(row) for row in rows] == [(2026, 4, "received", "open", 1)]


async def test_a_case_moves_between_rekap_buckets_and_leaves_none_behind(pool: Pool) -> None:
    life = a_complaints_life()
    for upto in range(1, len(life) + 1):
        await apply(pool, life[:upto])
        async with pool.acquire() as conn:
            counts = await conn.fetch("SELECT status, count FROM rekap")
        assert sum(row["count"] for row in counts) == 1
        await snapshot(pool)
