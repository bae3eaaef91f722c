"""Rebuild: re-project everything from the producers' notification logs into fresh tables,
then swap them in atomically while the service keeps answering.

The feeds (not the broker) are read from the start into memory with the same pure projectors
the live consumer uses, written with COPY, caught up under the swap lock (the live consumer
waits for it), and the schemas renamed in one transaction.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from tqdm import tqdm

from services.reporting.projection import (
    COLUMNS,
    CalendarDay,
    CaseRow,
    StepTime,
    Survey,
    case_subject,
    projector_for,
)
from services.reporting.read_model import SWAP_LOCK, ReadModel
from shared import db
from shared.events import Envelope, from_mapping
from shared.settings import Settings

PRODUCERS = ("intake", "workflow", "reporting")
PAGE = 2000
SCHEMA_SQL = "schema.sql"


@dataclass
class Memory:
    """The read model in memory: each stream applied in order, as the live consumer would."""

    tz: ZoneInfo
    cases: dict[UUID, CaseRow] = field(default_factory=dict)
    steps: dict[tuple[UUID, int], StepTime] = field(default_factory=dict)
    surveys: dict[UUID, Survey] = field(default_factory=dict)
    calendar: dict[tuple[str, Any], CalendarDay] = field(default_factory=dict)
    positions: dict[tuple[str, UUID], int] = field(default_factory=dict)

    def apply(self, envelope: Envelope) -> None:
        """A feed delivers each stream in order, once; anything else is a bug upstream."""
        key = (envelope.source, envelope.subject)
        last = self.positions.get(key, 0)
        if envelope.streamversion <= last:
            return
        if envelope.streamversion != last + 1:
            raise RuntimeError(f"stream {key} jumps from {last} to {envelope.streamversion}")
        subject = case_subject(envelope)
        outcome = projector_for(envelope.data)(
            self.cases.get(subject) if subject else None, envelope
        )
        if outcome.row is not None:
            self.cases[outcome.row.case_id] = outcome.row
        for effect in outcome.effects:
            self._keep(effect)
        self.positions[key] = envelope.streamversion

    def _keep(self, effect: StepTime | Survey | CalendarDay) -> None:
        if isinstance(effect, StepTime):
            self.steps.setdefault((effect.case_id, effect.version), effect)
        elif isinstance(effect, Survey):
            self.surveys[effect.case_id] = effect
        elif effect.working is None:
            self.calendar.pop((effect.agency, effect.day), None)
        else:
            self.calendar[(effect.agency, effect.day)] = effect

    def tables(self) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        """Each table's columns and rows, as the live tables hold them."""
        rekap = Counter(row.bucket(self.tz) for row in self.cases.values())
        bucket = ("agency", "year", "month", "channel", "kind", "category", "status", "timeliness")
        return {
            "case_summary": (
                COLUMNS,
                [tuple(getattr(r, c) for c in COLUMNS) for r in self.cases.values()],
            ),
            "rekap": ((*bucket, "count"), [(*key, n) for key, n in rekap.items()]),
            "step_times": (
                tuple(StepTime.__dataclass_fields__),
                [tuple(vars(s).values()) for s in self.steps.values()],
            ),
            "surveys": (
                ("case_id", "agency", "submitted_at", "scores"),
                [
                    (s.case_id, s.agency, s.submitted_at, list(s.scores))
                    for s in self.surveys.values()
                ],
            ),
            "calendar_days": (
                ("agency", "day", "working", "label"),
                [(c.agency, c.day, c.working, c.label) for c in self.calendar.values()],
            ),
            "stream_positions": (
                ("source", "subject", "version"),
                [(source, subject, v) for (source, subject), v in self.positions.items()],
            ),
        }


@dataclass
class Report:
    """What a rebuild did."""

    schema: str
    events: int
    cases: int
    seconds: float
    caught_up: int = 0


async def read_feed(
    http: httpx.AsyncClient, url: str, after: int, until: int | None = None
) -> tuple[list[Envelope], int]:
    """One page of a producer's feed: its events and where the next page starts."""
    answer = await http.get(f"{url}/internal/v1/events", params={"after": after, "limit": PAGE})
    answer.raise_for_status()
    page = answer.json()
    return [from_mapping(item) for item in page["events"]], int(page["next"])


async def heads(http: httpx.AsyncClient, settings: Settings) -> dict[str, int]:
    """The newest notification id of each producer."""
    result = {}
    for producer in PRODUCERS:
        answer = await http.get(f"{settings.service_url(producer)}/internal/v1/head")
        answer.raise_for_status()
        result[producer] = int(answer.json()["head"])
    return result


async def project_all(
    http: httpx.AsyncClient, settings: Settings, memory: Memory, *, progress: bool
) -> tuple[dict[str, int], int]:
    """Read every producer's feed up to its current head into memory; positions and count."""
    targets = await heads(http, settings)
    bar = tqdm(total=sum(targets.values()), unit="ev", desc="rebuild", disable=not progress)
    positions, count = {}, 0
    for producer, head in targets.items():
        after = 0
        while after < head:
            envelopes, following = await read_feed(http, settings.service_url(producer), after)
            for envelope in envelopes:
                memory.apply(envelope)
            bar.update(following - after)
            count += len(envelopes)
            if following == after:
                break
            after = following
        positions[producer] = after
    bar.close()
    return positions, count


async def write(conn: db.Connection, schema: str, memory: Memory) -> None:
    """Create the tables in a fresh schema and COPY the rows in."""
    from importlib import resources

    ddl = resources.files("services.reporting").joinpath(SCHEMA_SQL).read_text()
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.execute(f'SET search_path TO "{schema}"')
    await conn.execute(ddl)
    for table, (columns, rows) in memory.tables().items():
        if rows:
            await conn.copy_records_to_table(
                table, records=rows, columns=list(columns), schema_name=schema
            )


async def catch_up(
    http: httpx.AsyncClient, settings: Settings, conn: db.Connection, positions: dict[str, int]
) -> int:
    """Apply what the producers stored since the bulk read, with the live rules."""
    model, applied = ReadModel(settings.timezone), 0
    for producer, after in positions.items():
        while True:
            envelopes, following = await read_feed(http, settings.service_url(producer), after)
            for envelope in envelopes:
                applied += len(await model.apply(conn, envelope))
            if following == after:
                break
            after = following
    return applied


async def swap(conn: db.Connection, live: str, fresh: str) -> None:
    """Put the fresh schema in the live one's place, in one transaction."""
    retired = f"{live}_retired_{int(time.time())}"
    async with conn.transaction():
        await conn.execute(f'ALTER SCHEMA "{live}" RENAME TO "{retired}"')
        await conn.execute(f'ALTER SCHEMA "{fresh}" RENAME TO "{live}"')
        await conn.execute(f'DROP SCHEMA "{retired}" CASCADE')


async def rebuild(
    settings: Settings, *, live: str = "reporting", swap_in: bool = True, progress: bool = False
) -> Report:
    """Rebuild the read model; with swap_in, replace the live one (else leave it beside it)."""
    started, fresh = time.perf_counter(), f"{live}_rebuild_{int(time.time() * 1000)}"
    memory = Memory(ZoneInfo(settings.timezone))
    conn = await db.connect(settings)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            positions, count = await project_all(http, settings, memory, progress=progress)
            await write(conn, fresh, memory)
            report = Report(fresh, count, len(memory.cases), 0.0)
            if swap_in:
                await conn.execute("SELECT pg_advisory_lock(hashtext($1))", SWAP_LOCK)
                report.caught_up = await catch_up(http, settings, conn, positions)
                await swap(conn, live, fresh)
                report.schema = live
    finally:
        await conn.close()
    report.seconds = time.perf_counter() - started
    return report
