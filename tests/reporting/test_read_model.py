"""The read model applies each stream in order and once, whatever the delivery order."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.reporting import queries
from services.reporting.app import SCHEMA, create_tables
from services.reporting.read_model import ReadModel
from shared.channels import Channel
from shared.db import Connection, Pool, connect, create_pool, ensure_schema
from shared.events import ConsultationReceived, Envelope, seal
from shared.events import workflow as wf
from shared.settings import Settings
from shared.sop import Kind, Role
from shared.tracking_code import new_code
from tests.polling import eventually
from tests.samples import case_opened, complaint_received, workflow_event

RECEIVED = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)  # 1 April 01:00 in Jakarta
AGENCY = "dpmptsp-gresik"


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


async def test_a_batch_handed_to_a_second_consumer_mid_transaction_is_applied_once(
    settings: Settings, pool: Pool
) -> None:
    """A consumer that lost its broker mid-batch may still commit, while the broker has handed
    the same messages to the next consumer: the second waits for the first's commit, then
    finds every event applied. Each case counts once in the rekap."""
    life = a_complaints_life()
    await apply(pool, life[:2])
    model = ReadModel("Asia/Jakarta")
    first, second, watching = [await connect(settings) for _ in range(3)]
    try:
        await first.execute(f"SET search_path = {SCHEMA}")
        await second.execute(f"SET search_path = {SCHEMA}")
        async with first.transaction():
            await model.apply_batch(first, life[2:])
            waiting = asyncio.create_task(_applied_in_a_transaction(model, second, life[2:]))
            pid = second.get_server_pid()
            await eventually(lambda: _waits_for_a_lock(watching, pid), within=5)
            assert not waiting.done()
        again = await asyncio.wait_for(waiting, 5)
    finally:
        for conn in (first, second, watching):
            await conn.close()
    async with pool.acquire() as reader:
        counts = await reader.fetch("SELECT status, count FROM rekap")
    assert [tuple(row) for row in counts] == [("rejected", 1)]
    assert again == []  # nothing was left to apply


async def _applied_in_a_transaction(
    model: ReadModel, conn: Connection, envelopes: list[Envelope]
) -> list[Envelope]:
    async with conn.transaction():
        return await model.apply_batch(conn, envelopes)


async def _waits_for_a_lock(conn: Connection, pid: int) -> bool:
    waiting = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = $1", pid
    )
    return bool(waiting)


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


async def test_a_consultation_workflow_has_not_opened_yet_counts_as_open(pool: Pool) -> None:
    """Received is open: the 14 working days run from receipt (shared/vocabulary.py)."""
    waiting, answered = uuid4(), uuid4()
    for case_id in (waiting, answered):
        data = ConsultationReceived(
            case_id=case_id,
            tracking_code=new_code(),
            kind=Kind.CONSULTATION,
            channel=Channel.WEB,
            received_at=RECEIVED,
        )
        await apply(pool, [seal(data, subject=case_id, version=1, time=RECEIVED, agency=AGENCY)])
    opened = wf.CaseOpened(
        case_id=answered,
        at=RECEIVED,
        kind=Kind.CONSULTATION,
        tracking_code=new_code(),
        channel=Channel.WEB,
        received_at=RECEIVED,
        sop_version="2023.1",
        current_step="identification",
    )
    resolved = wf.ResolvedDirectly(
        case_id=answered,
        at=RECEIVED,
        step="identification",
        working_minutes=1.0,
        within_standard=True,
        public_answer="Jawab",
    )
    await apply(
        pool,
        [
            seal(event, subject=answered, version=version, time=RECEIVED, agency=AGENCY)
            for version, event in enumerate((opened, resolved), 1)
        ],
    )
    async with pool.acquire() as conn:
        [april] = await queries.consultations(conn, agencies=[AGENCY], year=2026, tz="Asia/Jakarta")
        statuses = dict(
            [tuple(row) for row in await conn.fetch("SELECT case_id, status FROM case_summary")]
        )
    assert statuses == {waiting: "received", answered: "resolved"}
    assert dict(april) == {
        "month": 4,
        "received": 2,
        "resolved_directly": 1,
        "escalated_to_bkpm": 0,
        "resolved": 1,
        "open": 1,
    }


async def test_the_complainants_own_actions_leave_the_last_officer_named(pool: Pool) -> None:
    received = complaint_received(received_at=RECEIVED)
    asked_at, answered_at = RECEIVED + timedelta(days=1), RECEIVED + timedelta(days=2)
    asked = workflow_event(
        wf.InformationRequested,
        received,
        2,
        asked_at,
        step="identification",
        by_role=Role.TIM_PENGADUAN,
        by_name="Budi Santoso",
    )
    answered = workflow_event(
        wf.InformationReceived,
        received,
        3,
        answered_at,
        step="identification",
        by_role=Role.PEMOHON,
        by_name="Pemohon",
        paused_minutes=60.0,
        step_due_at=answered_at + timedelta(days=3),
        deadline_at=answered_at + timedelta(days=10),
    )
    await apply(pool, [received, case_opened(received), asked, answered])
    async with pool.acquire() as conn:
        handled_by = await conn.fetchval("SELECT handled_by FROM case_summary")
    assert handled_by == "Budi Santoso"
