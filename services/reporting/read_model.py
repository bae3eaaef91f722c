"""Applying events to the read model: in stream order, once each, in the caller's transaction."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.reporting.projection import COLUMNS, PROJECTORS, CaseRow, row_values
from shared.db import Connection as Conn
from shared.events import Envelope, decode, encode

_UPSERT_ROW = (
    f"INSERT INTO case_summary ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) "
    "ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(f"{column} = EXCLUDED.{column}" for column in COLUMNS[1:])
)
_BUCKET = "agency, year, month, channel, kind, category, status"
_COUNT_UP = (
    f"INSERT INTO rekap ({_BUCKET}, count) VALUES ($1, $2, $3, $4, $5, $6, $7, 1) "
    f"ON CONFLICT ({_BUCKET}) DO UPDATE SET count = rekap.count + 1"
)
_KEY = (
    "agency = $1 AND year = $2 AND month = $3 AND channel = $4 AND kind = $5 "
    "AND category = $6 AND status = $7"
)
# The last one out deletes the row (a rebuild never creates zero rows); otherwise count down.
_COUNT_DOWN = (
    f"WITH gone AS (DELETE FROM rekap WHERE {_KEY} AND count = 1 RETURNING 1) "
    f"UPDATE rekap SET count = count - 1 WHERE {_KEY} AND NOT EXISTS (SELECT 1 FROM gone)"
)


class ReadModel:
    """The live projection: per-stream order and idempotency, then the pure projectors."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)

    async def apply(self, conn: Conn, envelope: Envelope) -> None:
        """Apply one event: a duplicate changes nothing; an early one waits for its turn."""
        last = await conn.fetchval(
            "SELECT version FROM stream_positions WHERE source = $1 AND subject = $2",
            envelope.source,
            envelope.subject,
        )
        expected = (last or 0) + 1
        if envelope.streamversion < expected:
            return
        if envelope.streamversion > expected:
            await conn.execute(
                "INSERT INTO pending_events (source, subject, version, body) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                envelope.source,
                envelope.subject,
                envelope.streamversion,
                encode(envelope),
            )
            return
        version = await self._apply_with_successors(conn, envelope)
        await conn.execute(
            "INSERT INTO stream_positions (source, subject, version) VALUES ($1, $2, $3) "
            "ON CONFLICT (source, subject) DO UPDATE SET version = EXCLUDED.version",
            envelope.source,
            envelope.subject,
            version,
        )

    async def _apply_with_successors(self, conn: Conn, envelope: Envelope) -> int:
        await self._project(conn, envelope)
        version = envelope.streamversion
        while True:
            body = await conn.fetchval(
                "DELETE FROM pending_events WHERE source = $1 AND subject = $2 AND version = $3 "
                "RETURNING body",
                envelope.source,
                envelope.subject,
                version + 1,
            )
            if body is None:
                return version
            await self._project(conn, decode(body))
            version += 1

    async def _project(self, conn: Conn, envelope: Envelope) -> None:
        projector = PROJECTORS.get(type(envelope.data))
        if projector is None:
            return
        record = await conn.fetchrow(
            f"SELECT {', '.join(COLUMNS)} FROM case_summary WHERE case_id = $1",
            envelope.subject,
        )
        old = CaseRow(**record) if record else None
        new = projector(old, envelope)
        if new == old:
            return
        await conn.execute(_UPSERT_ROW, *row_values(new))
        old_bucket, new_bucket = (old.bucket(self.tz) if old else None), new.bucket(self.tz)
        if old_bucket != new_bucket:
            if old_bucket is not None:
                await conn.execute(_COUNT_DOWN, *old_bucket)
            await conn.execute(_COUNT_UP, *new_bucket)
