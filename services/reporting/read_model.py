"""The live read model: a batch of events loaded, applied in memory, written back in one go.

Each batch runs in the caller's transaction: a few queries load what the batch touches, the
working set applies it (stream order, once each), a few `executemany` write what changed.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.reporting.projection import (
    COLUMNS,
    CUBES,
    CaseRow,
    Cube,
    Survey,
    case_subject,
    row_values,
)
from services.reporting.working_set import Stream, WorkingSet
from shared.db import Connection as Conn
from shared.events import Envelope, decode, encode
from shared.subject_locks import LOCK_EACH, lock_keys

SWAP_LOCK = "aduan.reporting.swap"
"""Held shared by every projecting transaction, exclusively by a rebuild's swap."""
STREAM_LOCKS = "aduan.reporting.stream"
"""The class of the locks a batch holds on its subjects (shared/subject_locks.py)."""
_LOCK = LOCK_EACH.format(name="$1", keys="$2")

_STREAMS = "(source, subject) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))"
_UPSERT_ROW = (
    f"INSERT INTO case_summary ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) "
    "ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(f"{column} = EXCLUDED.{column}" for column in COLUMNS[1:])
)
_WRITES = {
    "step": (
        "INSERT INTO step_times (case_id, version, agency, kind, sop_version, step, role, "
        "completed_at, working_minutes, within_standard) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
    ),
    "survey": (
        "INSERT INTO surveys (case_id, agency, submitted_at, scores, age_group, sex, education, "
        "occupation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (case_id) DO UPDATE SET submitted_at = EXCLUDED.submitted_at, "
        "scores = EXCLUDED.scores, age_group = EXCLUDED.age_group, sex = EXCLUDED.sex, "
        "education = EXCLUDED.education, occupation = EXCLUDED.occupation"
    ),
    "day": (
        "INSERT INTO calendar_days (agency, day, working, label) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (agency, day) DO UPDATE SET working = EXCLUDED.working, label = EXCLUDED.label"
    ),
    "no_day": "DELETE FROM calendar_days WHERE agency = $1 AND day = $2",
    "erased": "UPDATE case_history SET message = NULL WHERE case_id = $1",
    "moved_history": "UPDATE case_history SET agency = $2 WHERE case_id = $1 AND agency <> $2",
    "moved_survey": "UPDATE surveys SET agency = $2 WHERE case_id = $1 AND agency <> $2",
    "history": (
        "INSERT INTO case_history (case_id, source, version, agency, at, event, step, message) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
    ),
    "position": (
        "INSERT INTO stream_positions (source, subject, version) VALUES ($1, $2, $3) "
        "ON CONFLICT (source, subject) DO UPDATE SET version = EXCLUDED.version"
    ),
    "wait": (
        "INSERT INTO pending_events (source, subject, version, body) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING"
    ),
    "waited": "DELETE FROM pending_events WHERE source = $1 AND subject = $2 AND version = $3",
}


def _counting(cube: Cube) -> tuple[str, str]:
    """SQL to move a cube's row by a delta, and to drop the rows that reach zero."""
    columns = ("agency", *cube.dimensions)
    places = ", ".join(f"${i}" for i in range(1, len(columns) + 2))
    key = " AND ".join(f"{c} = ${i}" for i, c in enumerate(columns, 1))
    names = ", ".join(columns)
    move = (
        f"INSERT INTO {cube.table} ({names}, count) VALUES ({places}) ON CONFLICT ({names}) "
        f"DO UPDATE SET count = {cube.table}.count + EXCLUDED.count"
    )
    return move, f"DELETE FROM {cube.table} WHERE {key} AND count <= 0"


_COUNTING = {cube: _counting(cube) for cube in CUBES}


@dataclass(frozen=True)
class Loaded:
    """What the database held for a batch before it was applied."""

    cases: dict[UUID, CaseRow]
    positions: dict[Stream, int]
    waiting: set[tuple[Stream, int]]


def _of_case_agency(envelope: Envelope, cases: dict[UUID, CaseRow]) -> Envelope:
    subject = case_subject(envelope)
    row = cases.get(subject) if subject is not None else None
    if row is None or row.agency == envelope.agency:
        return envelope
    return dataclasses.replace(envelope, agency=row.agency)


class ReadModel:
    """Applies batches of events to the read model tables of the connection's search path."""

    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)

    async def apply(self, conn: Conn, envelope: Envelope) -> list[Envelope]:
        """Apply one event (and any that waited for it); the events applied now, in order."""
        return await self.apply_batch(conn, [envelope])

    async def apply_batch(self, conn: Conn, envelopes: Sequence[Envelope]) -> list[Envelope]:
        """Apply a batch in order; the events applied now (duplicates and early ones are not),
        each as of the agency that has its case now: intake stamps a submission's events with
        the agency it was submitted to, which a case moved since no longer is."""
        await _lock(conn, envelopes)
        working, loaded = await self._load(conn, envelopes)
        for envelope in envelopes:
            working.apply(envelope)
        await self._flush(conn, working, loaded)
        return [_of_case_agency(envelope, working.cases) for envelope in working.applied]

    async def _load(self, conn: Conn, envelopes: Sequence[Envelope]) -> tuple[WorkingSet, Loaded]:
        streams = list(dict.fromkeys((e.source, e.subject) for e in envelopes))
        columns = ([source for source, _ in streams], [subject for _, subject in streams])
        positions = {
            (r["source"], r["subject"]): r["version"]
            for r in await conn.fetch(f"SELECT * FROM stream_positions WHERE {_STREAMS}", *columns)
        }
        pending: dict[Stream, dict[int, Envelope]] = defaultdict(dict)
        for r in await conn.fetch(f"SELECT * FROM pending_events WHERE {_STREAMS}", *columns):
            pending[(r["source"], r["subject"])][r["version"]] = decode(r["body"])
        subjects = list({s for e in envelopes if (s := case_subject(e)) is not None})
        records = await conn.fetch(
            f"SELECT {', '.join(COLUMNS)} FROM case_summary WHERE case_id = ANY($1::uuid[])",
            subjects,
        )
        cases = {record["case_id"]: CaseRow(**record) for record in records}
        waiting = {(stream, version) for stream, by in pending.items() for version in by}
        working = WorkingSet(self.tz, dict(cases), dict(positions), dict(pending))
        return working, Loaded(cases, positions, waiting)

    async def _flush(self, conn: Conn, working: WorkingSet, loaded: Loaded) -> None:
        changed = [row for key, row in working.cases.items() if loaded.cases.get(key) != row]
        await _many(conn, _UPSERT_ROW, list(map(row_values, changed)))
        await self._count(conn, changed, loaded)
        await _many(
            conn, _WRITES["step"], [list(vars(step).values()) for step in working.steps.values()]
        )
        await _many(
            conn,
            _WRITES["survey"],
            [survey_row(s) for s in working.surveys.values()],
        )
        await _many(
            conn, _WRITES["history"], [list(vars(e).values()) for e in working.history.values()]
        )
        await _many(conn, _WRITES["erased"], [[case] for case in working.erased_messages])
        moved = [[case, agency] for case, agency in working.moved.items()]
        await _many(conn, _WRITES["moved_history"], moved)
        await _many(conn, _WRITES["moved_survey"], moved)
        days = working.calendar.values()
        await _many(
            conn,
            _WRITES["day"],
            [[d.agency, d.day, d.working, d.label] for d in days if d.working is not None],
        )
        await _many(conn, _WRITES["no_day"], [[d.agency, d.day] for d in days if d.working is None])
        advanced = [[*s, v] for s, v in working.positions.items() if loaded.positions.get(s) != v]
        await _many(conn, _WRITES["position"], advanced)
        waiting = {(s, v): e for s, by in working.pending.items() for v, e in by.items()}
        await _many(
            conn,
            _WRITES["wait"],
            [[*s, v, encode(e)] for (s, v), e in waiting.items() if (s, v) not in loaded.waiting],
        )
        await _many(conn, _WRITES["waited"], [[*s, v] for s, v in loaded.waiting - waiting.keys()])

    async def _count(self, conn: Conn, changed: list[CaseRow], loaded: Loaded) -> None:
        for cube, (move, drop) in _COUNTING.items():
            deltas: dict[tuple[Any, ...], int] = defaultdict(int)
            for row in changed:
                if (old := loaded.cases.get(row.case_id)) is not None:
                    deltas[cube.key(old.bucket(self.tz))] -= 1
                deltas[cube.key(row.bucket(self.tz))] += 1
            # in one order: batches of other processes moving the same buckets never deadlock
            moved = sorted((item for item in deltas.items() if item[1]), key=repr)
            await _many(conn, move, [[*key, delta] for key, delta in moved])
            await _many(conn, drop, [list(key) for key, delta in moved if delta < 0])


async def _lock(conn: Conn, envelopes: Sequence[Envelope]) -> None:
    """Hold the batch's subjects (its streams', so its cases') until the transaction ends:
    what is read after this is what the last holder committed."""
    await conn.execute(_LOCK, STREAM_LOCKS, lock_keys(e.subject for e in envelopes))


async def _many(conn: Conn, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await conn.executemany(statement, rows)


def survey_row(survey: Survey) -> list[Any]:
    """A surveys row: the scores as a list, the profile beside them."""
    profile = [survey.age_group, survey.sex, survey.education, survey.occupation]
    return [survey.case_id, survey.agency, survey.submitted_at, list(survey.scores), *profile]
