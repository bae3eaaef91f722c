"""Workflow opens exactly one case per submission, however often the message comes."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
from prometheus_client import REGISTRY

from services.reporting.app import create_app as create_reporting
from services.workflow.app import create_app as create_workflow
from services.workflow.cases import SCHEMA, open_cases
from services.workflow.inbound import consumer
from services.workflow.rules import UnknownCase
from shared.db import ensure_schema
from shared.events import PersonalDataErased, seal
from shared.settings import Settings
from tests.bus import bus
from tests.conftest import serving
from tests.polling import eventually
from tests.samples import complaint_received


def handled(service: str) -> float:
    labels = {"service": service, "outcome": "handled"}
    return REGISTRY.get_sample_value("aduan_events_consumed_total", labels) or 0.0


async def test_a_message_delivered_twice_opens_one_case_counted_once(settings: Settings) -> None:
    received = complaint_received()
    year = datetime.now(ZoneInfo(settings.timezone)).year
    workflow_before, reporting_before = handled("workflow"), handled("reporting")
    async with (
        serving(create_workflow(settings)),
        serving(create_reporting(settings)) as reporting,
        bus(settings) as connected,
    ):
        await connected.publish(received)
        await connected.publish(received)

        async def both_copies_and_the_case_handled() -> bool:
            return (
                handled("workflow") >= workflow_before + 2
                and handled("reporting") >= reporting_before + 3
            )

        assert await eventually(both_copies_and_the_case_handled, within=15)
        rekap = (await reporting.get(f"/reporting/v1/rekap?year={year}")).json()
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        opened = await conn.fetchval("SELECT count(*) FROM workflow.cases_events")
        summaries = await conn.fetchval("SELECT count(*) FROM reporting.case_summary")
    finally:
        await conn.close()
    assert opened == 1
    assert summaries == 1
    assert rekap["total"] == 1


async def test_an_erasure_delivered_twice_shreds_the_case_key_once(settings: Settings) -> None:
    received = complaint_received()
    case_id = received.subject
    at = received.time
    erased = seal(
        PersonalDataErased(case_id=case_id, erased_at=at),
        subject=case_id,
        version=2,
        time=at,
        agency=received.agency,
    )
    before = handled("workflow")
    async with serving(create_workflow(settings)), bus(settings) as connected:
        await connected.publish(received)
        await connected.publish(erased)
        await connected.publish(erased)

        async def all_handled() -> bool:
            return handled("workflow") >= before + 3

        assert await eventually(all_handled, within=15)
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        topics = await conn.fetch(
            "SELECT topic FROM workflow.cases_events ORDER BY originator_version"
        )
        key = await conn.fetchval("SELECT key FROM workflow.case_keys WHERE case_id = $1", case_id)
    finally:
        await conn.close()
    assert [row["topic"].rsplit(".", 1)[-1] for row in topics] == ["CaseOpened", "CaseDataErased"]
    assert key is None


async def test_a_batch_repeating_cases_opens_every_new_one(settings: Settings) -> None:
    """After a broker outage a batch can hold a case already open and a new one twice (the
    relay published it again, unconfirmed the first time). The failed batch save has taken
    the new cases' events: saving them again one by one must not store nothing."""
    await ensure_schema(settings, SCHEMA)
    cases = await asyncio.to_thread(open_cases, settings)
    try:
        handle = consumer(cases).handle
        old, new = complaint_received(), complaint_received()
        await handle([old])
        await handle([old, new, new])
        await handle([new, old])
    finally:
        cases.close()
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        opened = {
            row[0] for row in await conn.fetch("SELECT originator_id FROM workflow.cases_events")
        }
    finally:
        await conn.close()
    assert opened == {old.subject, new.subject}


async def test_a_batch_redelivered_with_a_case_already_open_opens_the_others(
    settings: Settings,
) -> None:
    # After a kill: the batch it had stored but not acknowledged comes again, with newer ones.
    await ensure_schema(settings, "workflow")
    cases = await asyncio.to_thread(open_cases, settings)
    handle = consumer(cases).handle
    stored, newer = complaint_received(), [complaint_received(), complaint_received()]
    try:
        await handle([stored])
        await handle([stored, *newer])
        for envelope in [stored, *newer]:
            try:
                await asyncio.to_thread(cases.get_case, envelope.subject)
            except UnknownCase:
                raise AssertionError(f"{envelope.subject} was never opened") from None
    finally:
        cases.close()
