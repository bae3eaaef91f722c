"""A consumer process for the partition tests: `python -m tests.partition_worker` (settings
from ADUAN_*). Its handler records, in PostgreSQL, every event it takes, once (idempotent by
event id, in one transaction per batch), and every event that came before its stream's
previous version (an order violation)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import asyncpg

from shared.broker import BrokerLink
from shared.db import Connection
from shared.events import Envelope
from shared.messaging import Consumer, run_consumer
from shared.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    event_id text PRIMARY KEY, source text NOT NULL, subject uuid NOT NULL,
    version int NOT NULL, consumer int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS stream_versions (
    source text, subject uuid, version int NOT NULL, PRIMARY KEY (source, subject)
);
CREATE TABLE IF NOT EXISTS violations (
    event_id text, source text, subject uuid, version int, after int, consumer int
);
CREATE TABLE IF NOT EXISTS duplicates (event_id text, consumer int);
"""


async def record(conn: Connection, consumer: int, envelopes: Sequence[Envelope]) -> None:
    """Record a batch in one transaction: what was new, what came twice, what came early."""
    async with conn.transaction():
        for e in envelopes:
            source, subject = e.source, e.subject
            new = await conn.fetchval(
                "INSERT INTO handled (event_id, source, subject, version, consumer) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
                e.id,
                source,
                subject,
                e.streamversion,
                consumer,
            )
            if not new:
                await conn.execute("INSERT INTO duplicates VALUES ($1, $2)", e.id, consumer)
                continue
            last = await conn.fetchval(
                "SELECT version FROM stream_versions WHERE source = $1 AND subject = $2",
                source,
                subject,
            )
            if e.streamversion != (last or 0) + 1:
                await conn.execute(
                    "INSERT INTO violations VALUES ($1, $2, $3, $4, $5, $6)",
                    e.id,
                    source,
                    subject,
                    e.streamversion,
                    last,
                    consumer,
                )
            await conn.execute(
                "INSERT INTO stream_versions VALUES ($1, $2, $3) ON CONFLICT (source, subject) "
                "DO UPDATE SET version = greatest(stream_versions.version, EXCLUDED.version)",
                source,
                subject,
                e.streamversion,
            )


async def main(settings: Settings) -> None:
    """Consume the reporting service's partitions as process `consumer_index`."""
    pool = await asyncpg.create_pool(settings.postgres_dsn(), min_size=1, max_size=2)
    assert pool is not None

    async def handle(envelopes: Sequence[Envelope]) -> None:
        async with pool.acquire() as conn:
            await record(conn, settings.consumer_index, envelopes)

    try:
        await run_consumer(settings, Consumer("reporting", handle), BrokerLink())
    finally:
        await pool.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(Settings()))
