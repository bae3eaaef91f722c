"""Attachments' bytes, stored by content hash outside the event-store transaction.

Large bytes never ride the library's insert, which runs in psycopg pipeline mode: a
multi-megabyte parameter there leaves client and server each waiting for the other (issue 11).
A file's sealed bytes are written first, in an ordinary transaction of their own, keyed by the
sha256 of those bytes; the service's `attachments` row, written with the events, references
the hash in its `blob` column. Content stays sealed with the case's (or submission's) own key,
so shredding the key erases it; erasure also deletes the rows.

An orphan (bytes stored, then the commit that would reference them failed) is unreadable
without a reference and is deleted by `sweep` once older than `ORPHAN_AGE`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import LiteralString
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier, Literal

from shared.writes import WriteGuard

log = logging.getLogger(__name__)

ORPHAN_AGE = timedelta(days=1)
SWEEP_SECONDS = 3600.0

DDL = (
    "CREATE TABLE IF NOT EXISTS {schema}.blobs (hash text PRIMARY KEY, case_id uuid NOT NULL, "
    "size integer NOT NULL, content bytea NOT NULL, "
    "stored_at timestamptz NOT NULL DEFAULT now())",
    "CREATE INDEX IF NOT EXISTS blobs_case ON {schema}.blobs (case_id)",
    # The attachment rows reference their bytes; rows of before kept theirs inline.
    "ALTER TABLE {schema}.attachments ADD COLUMN IF NOT EXISTS blob text",
    "ALTER TABLE {schema}.attachments ALTER COLUMN content DROP NOT NULL",
    "CREATE INDEX IF NOT EXISTS attachments_blob ON {schema}.attachments (blob)",
)
"""After the service's own `attachments` table (`{schema}` placeholders)."""

CONTENT: LiteralString = (
    "SELECT a.content_type, coalesce(b.content, a.content) AS content "
    "FROM {s}.attachments a LEFT JOIN {s}.blobs b ON b.hash = a.blob "
    "WHERE a.id = %s AND a.case_id = %s"
)
"""An attachment's type and sealed bytes, by id and case (`{s}` placeholder)."""


@dataclass(frozen=True)
class Blob:
    """Sealed bytes to store, filed under their hash."""

    hash: str
    case_id: UUID
    sealed: bytes

    @classmethod
    def of(cls, case_id: UUID, sealed: bytes) -> Blob:
        """The bytes with their sha256."""
        return cls(hashlib.sha256(sealed).hexdigest(), case_id, sealed)


def statements(schema: str) -> list[Composed]:
    """The DDL for one schema."""
    return [SQL(text).format(schema=Identifier(schema)) for text in DDL]


def content_query(schema: str) -> Composed:
    """`CONTENT` for one schema."""
    return SQL(CONTENT).format(s=Identifier(schema))


def probe(datastore: PostgresDatastore, *tables: tuple[str, LiteralString]) -> None:
    """Whether writes could get through now: the blobs' lock and each (table, lock mode)
    given, taken with a short lock timeout and released at once."""
    with datastore.transaction(commit=False) as curs:
        curs.execute(SQL("SET LOCAL lock_timeout = '1s'"))
        for table, mode in (("blobs", "ROW EXCLUSIVE"), *tables):
            lock = SQL("LOCK TABLE {}.{} IN " + mode + " MODE")
            curs.execute(lock.format(Identifier(datastore.schema), Identifier(table)))


def datastore_of(recorder: object) -> PostgresDatastore:
    """The PostgreSQL datastore of an application's recorder."""
    assert isinstance(recorder, PostgresApplicationRecorder)
    return recorder.datastore


def probe_events(recorder: object) -> None:
    """Whether a save of events could get through now (`probe` with the events' table)."""
    assert isinstance(recorder, PostgresApplicationRecorder)
    probe(recorder.datastore, (recorder.events_table_name, "EXCLUSIVE"))


class BlobStore:
    """Writes blobs on the datastore's pool, each in its own (non-pipeline) transaction."""

    def __init__(self, datastore: PostgresDatastore, guard: WriteGuard) -> None:
        self.datastore, self.guard = datastore, guard
        # At most half the pool writes blobs: commits and reads keep connections of their own.
        self._slots = asyncio.Semaphore(max(1, (datastore.pool.max_size or 2) // 2))
        s = Identifier(datastore.schema)
        self._timeout = SQL("SET LOCAL statement_timeout = {}").format(
            Literal(f"{int(guard.deadline * 1000)}ms")
        )
        self._insert = SQL(
            "INSERT INTO {}.blobs (hash, case_id, size, content) VALUES (%s, %s, %s, %b) "
            "ON CONFLICT (hash) DO NOTHING"
        ).format(s)
        self._sweep = SQL(
            "DELETE FROM {s}.blobs b WHERE b.stored_at < now() - %s::interval "
            "AND NOT EXISTS (SELECT 1 FROM {s}.attachments a WHERE a.blob = b.hash)"
        ).format(s=s)

    async def put(self, blobs: list[Blob]) -> None:
        """Store them before the commit that references them (503 past the deadline)."""
        if blobs:
            async with self._slots:
                await self.guard.run(lambda: self.put_now(blobs))

    def put_now(self, blobs: list[Blob]) -> None:
        """Store them, blocking; the server gives up at the deadline."""
        for blob in blobs:
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(self._timeout)
                curs.execute(self._insert, (blob.hash, blob.case_id, len(blob.sealed), blob.sealed))

    def sweep(self, older_than: timedelta = ORPHAN_AGE) -> int:
        """Delete blobs no attachment references, older than `older_than`; how many."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._sweep, (older_than,))
            return curs.rowcount

    async def run_sweeper(self, every: float = SWEEP_SECONDS) -> None:
        """Sweep orphans now and then, until cancelled."""
        while True:
            try:
                swept = await asyncio.to_thread(self.sweep)
            except Exception as error:  # noqa: BLE001 - the next round tries again
                log.warning("sweeping orphaned attachments failed: %s", error)
            else:
                if swept:
                    log.info("swept %d orphaned attachment blobs", swept)
            await asyncio.sleep(every)
