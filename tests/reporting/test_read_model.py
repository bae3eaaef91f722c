"""The read model applies each stream in order and once, whatever the delivery order."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import pytest

from services.reporting.app import SCHEMA, create_tables
from services.reporting.read_model import ReadModel
from shared.db import Pool, create_pool, ensure_schema
from shared.events import CaseOpened, Envelope, seal
from shared.settings import Settings
from tests.samples import case_opened, complaint_received


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


async def snapshot(pool: Pool) -> tuple[list[tuple[object, ...]], ...]:
    async with pool.acquire() as conn:
        tables = []
        for query in (
            "SELECT * FROM case_summary ORDER BY case_id",
            "SELECT * FROM rekap ORDER BY 1, 2, 3, 4, 5, 6, 7",
            "SELECT * FROM stream_positions ORDER BY 1, 2",
            "SELECT source, subject, version FROM pending_events ORDER BY 1, 2, 3",
        ):
            tables.append([tuple(row) for row in await conn.fetch(query)])
        await conn.execute("TRUNCATE case_summary, rekap, stream_positions, pending_events")
    return tuple(tables)


def moved_on(opened: Envelope, version: int, step: str) -> Envelope:
    """A later workflow event for the same case (a step change, as the workflow will send)."""
    data = opened.data
    assert isinstance(data, CaseOpened)
    later = data.model_copy(update={"current_step": step})
    return seal(
        later, subject=opened.subject, version=version, time=opened.time, agency=opened.agency
    )


async def test_any_delivery_order_with_duplicates_gives_the_in_order_result(pool: Pool) -> None:
    received = complaint_received(received_at=datetime(2026, 3, 31, 18, 0, tzinfo=UTC))
    opened = case_opened(received)
    second, third = moved_on(opened, 2, "verification"), moved_on(opened, 3, "disposition")
    in_order = [received, opened, second, third]
    await apply(pool, in_order)
    expected = await snapshot(pool)
    assert expected[0][0][8] == "disposition"
    for order in itertools.permutations(in_order):
        await apply(pool, [*order, *order[:2]])
        assert await snapshot(pool) == expected, [e.type for e in order]


async def test_a_case_counts_in_the_month_of_the_office_time_zone(pool: Pool) -> None:
    late_evening_utc = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)  # 1 April, 01:00 in Jakarta
    await apply(pool, [complaint_received(received_at=late_evening_utc)])
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT year, month, count FROM rekap")
    assert [tuple(row) for row in rows] == [(2026, 4, 1)]


async def test_status_moves_the_case_between_rekap_buckets(pool: Pool) -> None:
    received = complaint_received(case_id=UUID(int=7))
    await apply(pool, [received])
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM rekap") == "received"
    await apply(pool, [case_opened(received)])
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT status, count FROM rekap")
    assert [tuple(row) for row in rows] == [("in_progress", 1)]
