"""Applying events to the live read model: in stream order, once each, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from services.reporting.projection import (
    COLUMNS,
    CalendarDay,
    CaseRow,
    Effect,
    StepTime,
    Survey,
    case_subject,
    projector_for,
)
from shared.db import Connection as Conn
from shared.events import Envelope, decode, encode

SWAP_LOCK = "aduan.reporting.swap"
"""Held shared by every projecting transaction, exclusively by a rebuild's swap."""

_UPSERT_ROW = (
    f"INSERT INTO case_summary ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) "
    "ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(f"{column} = EXCLUDED.{column}" for column in COLUMNS[1:])
)
_BUCKET = "agency, year, month, channel, kind, category, status, timeliness"
_KEY = " AND ".join(f"{column} = ${i}" for i, column in enumerate(_BUCKET.split(", "), 1))
_COUNT_UP = (
    f"INSERT INTO rekap ({_BUCKET}, count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) "
    f"ON CONFLICT ({_BUCKET}) DO UPDATE SET count = rekap.count + 1"
)
# The last one out deletes the row (a rebuild never creates zero rows); otherwise count down.
_COUNT_DOWN = (
    f"WITH gone AS (DELETE FROM rekap WHERE {_KEY} AND count = 1 RETURNING 1) "
    f"UPDATE rekap SET count = count - 1 WHERE {_KEY} AND NOT EXISTS (SELECT 1 FROM gone)"
)
_EFFECTS = {
    StepTime: (
        "INSERT INTO step_times (case_id, version, agency, kind, sop_version, step, role, "
        "completed_at, working_minutes, within_standard) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
    ),
    Survey: (
        "INSERT INTO surveys (case_id, agency, submitted_at, scores) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (case_id) DO UPDATE SET submitted_at = EXCLUDED.submitted_at, "
        "scores = EXCLUDED.scores"
    ),
}


class ReadModel:
    """The live projection: per-stream order and idempotency, then the pure projectors."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)

    async def apply(self, conn: Conn, envelope: Envelope) -> list[Envelope]:
        """Apply one event (and any that waited for it); the events applied now, in order.

        A duplicate applies nothing; an early one waits in pending_events for its turn.
        """
        last = await conn.fetchval(
            "SELECT version FROM stream_positions WHERE source = $1 AND subject = $2",
            envelope.source,
            envelope.subject,
        )
        expected = (last or 0) + 1
        if envelope.streamversion < expected:
            return []
        if envelope.streamversion > expected:
            await conn.execute(
                "INSERT INTO pending_events (source, subject, version, body) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                envelope.source,
                envelope.subject,
                envelope.streamversion,
                encode(envelope),
            )
            return []
        applied = await self._apply_with_successors(conn, envelope)
        await conn.execute(
            "INSERT INTO stream_positions (source, subject, version) VALUES ($1, $2, $3) "
            "ON CONFLICT (source, subject) DO UPDATE SET version = EXCLUDED.version",
            envelope.source,
            envelope.subject,
            applied[-1].streamversion,
        )
        return applied

    async def _apply_with_successors(self, conn: Conn, envelope: Envelope) -> list[Envelope]:
        applied = [envelope]
        await self.project(conn, envelope)
        while True:
            body = await conn.fetchval(
                "DELETE FROM pending_events WHERE source = $1 AND subject = $2 AND version = $3 "
                "RETURNING body",
                envelope.source,
                envelope.subject,
                applied[-1].streamversion + 1,
            )
            if body is None:
                return applied
            applied.append(decode(body))
            await self.project(conn, applied[-1])

    async def project(self, conn: Conn, envelope: Envelope) -> None:
        """Run the event's projector against the stored row and write what changed."""
        subject = case_subject(envelope)
        old = None
        if subject is not None:
            record = await conn.fetchrow(
                f"SELECT {', '.join(COLUMNS)} FROM case_summary WHERE case_id = $1", subject
            )
            old = CaseRow(**record) if record else None
        outcome = projector_for(envelope.data)(old, envelope)
        if outcome.row is not None and outcome.row != old:
            await self._write_row(conn, old, outcome.row)
        await self._write_effects(conn, outcome.effects)

    async def _write_row(self, conn: Conn, old: CaseRow | None, new: CaseRow) -> None:
        await conn.execute(_UPSERT_ROW, *(getattr(new, column) for column in COLUMNS))
        old_bucket, new_bucket = (old.bucket(self.tz) if old else None), new.bucket(self.tz)
        if old_bucket != new_bucket:
            if old_bucket is not None:
                await conn.execute(_COUNT_DOWN, *old_bucket)
            await conn.execute(_COUNT_UP, *new_bucket)

    async def _write_effects(self, conn: Conn, effects: Sequence[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, CalendarDay):
                await _write_calendar_day(conn, effect)
            else:
                values = [list(v) if isinstance(v, tuple) else v for v in vars(effect).values()]
                await conn.execute(_EFFECTS[type(effect)], *values)


async def _write_calendar_day(conn: Conn, day: CalendarDay) -> None:
    if day.working is None:
        await conn.execute(
            "DELETE FROM calendar_days WHERE agency = $1 AND day = $2", day.agency, day.day
        )
        return
    await conn.execute(
        "INSERT INTO calendar_days (agency, day, working, label) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (agency, day) DO UPDATE SET working = EXCLUDED.working, "
        "label = EXCLUDED.label",
        day.agency,
        day.day,
        day.working,
        day.label,
    )
