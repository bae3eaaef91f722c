"""The monthly recap (SOP step 7): produced on the first working day of each month for the
month before (or on demand), kept as XLSX and PDF, and announced as RekapPublished.

Reporting's own small event store: one MonthlyRekap aggregate per agency and month, its id
derived from both, so two processes cannot both publish the same month.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from services.reporting import documents, queries
from services.reporting import month as monthly
from services.reporting.documents import MonthFigures
from services.reporting.drawing import Busy, NotDrawn, drawn
from services.reporting.letter import Office, printed
from services.reporting.reads import fetch, in_thread
from shared import agencies
from shared.agencies import Agency
from shared.aggregate import AgencyAggregate
from shared.db import Connection, Pool, Source, read
from shared.events.reporting import RekapPublished, RekapRevised
from shared.metrics import EVENTS_STORED
from shared.outages import Unavailable
from shared.recording import Extra, ExtraRowsRecorder
from shared.relay import WireTable
from shared.settings import Settings
from shared.sop import Kind

log = logging.getLogger(__name__)

SCHEMA = "reporting_store"
RECAP_NAMESPACE = UUID("3d9a1c57-0b8e-4f26-9a73-6c5e1f2b8d40")


def recap_id(agency: str, year: int, month: int) -> UUID:
    """One recap per agency and month."""
    return uuid5(RECAP_NAMESPACE, f"{agency}:{year:04d}-{month:02d}")


class MonthlyRekap(AgencyAggregate):
    """A month's recap: when it was produced, from which figures, which files."""

    @event("RekapPublished")
    def __init__(
        self,
        *,
        agency: str,
        year: int,
        month: int,
        produced_at: datetime,
        trigger: str,
        complaints: int,
        consultations: int,
        document_id: str,
        fingerprint: str = "",  # recorded since issue 15; older recaps compare their totals
    ) -> None:
        self.agency, self.year, self.month = agency, year, month
        self.produced_at, self.document_id = produced_at, document_id
        self.first_produced_at, self.revision = produced_at, 0
        self.complaints, self.consultations, self.fingerprint = (
            complaints,
            consultations,
            fingerprint,
        )

    @staticmethod
    def create_id(agency: str, year: int, month: int) -> UUID:
        """Deterministic: the agency's recap of that month."""
        return recap_id(agency, year, month)

    def revise(
        self,
        *,
        produced_at: datetime,
        trigger: str,
        complaints: int,
        consultations: int,
        document_id: str,
        fingerprint: str,
    ) -> None:
        """Produce the month's recap again: on demand, or because its figures changed."""
        self._revised(
            year=self.year,
            month=self.month,
            produced_at=produced_at,
            trigger=trigger,
            complaints=complaints,
            consultations=consultations,
            document_id=document_id,
            fingerprint=fingerprint,
        )

    def outdated(self, shape: MonthShape) -> bool:
        """Whether the month's figures changed since this recap was produced (entries
        recorded late, for a month already published)."""
        if self.fingerprint:
            return self.fingerprint != shape.fingerprint
        return (self.complaints, self.consultations) != shape.totals

    @event("RekapRevised")
    def _revised(
        self,
        *,
        year: int,
        month: int,
        produced_at: datetime,
        trigger: str,
        complaints: int,
        consultations: int,
        document_id: str,
        fingerprint: str = "",
    ) -> None:
        self.produced_at, self.document_id = produced_at, document_id
        self.complaints, self.consultations, self.fingerprint = (
            complaints,
            consultations,
            fingerprint,
        )
        self.revision += 1


@dataclass(frozen=True)
class RecapFiles:
    """A recap's files, stored in the transaction that records its event."""

    id: UUID
    recap_id: UUID
    xlsx: bytes
    pdf: bytes


class RecapsRecorder(ExtraRowsRecorder):
    """Stores the files beside the events, in the same transaction."""

    EXTRAS = (
        Extra(
            "files",
            (
                "CREATE TABLE IF NOT EXISTS {schema}.recap_files (id uuid PRIMARY KEY, "
                "recap_id uuid NOT NULL, xlsx bytea NOT NULL, pdf bytea NOT NULL)",
            ),
            "INSERT INTO {schema}.recap_files (id, recap_id, xlsx, pdf) "
            "SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::bytea[], %s::bytea[])",
            lambda files: (files.id, files.recap_id, files.xlsx, files.pdf),
        ),
    )


class Recaps(Application[UUID]):
    """Stores MonthlyRekap aggregates and their files."""

    def record(
        self,
        figures: MonthFigures,
        trigger: str,
        at: datetime,
        files: tuple[bytes, bytes],
        recap: MonthlyRekap | None,
    ) -> MonthlyRekap | None:
        """Store a month's recap and its files (`files`: XLSX and PDF), as produced for the
        first time or again (`recap`: the one produced before). None if another process
        recorded one at the same moment."""
        document = RecapFiles(
            uuid4(), recap_id(figures.agency, figures.year, figures.month), *files
        )
        facts: dict[str, Any] = {
            "complaints": figures.complaints,
            "consultations": figures.consultations,
            "document_id": str(document.id),
            "fingerprint": figures.fingerprint,
        }
        if recap is None:
            recap = MonthlyRekap(
                agency=figures.agency,
                year=figures.year,
                month=figures.month,
                produced_at=at,
                trigger=trigger,
                **facts,
            )
        else:
            recap.revise(produced_at=at, trigger=trigger, **facts)
        try:
            stored = self.save(recap, files=[document])
        except IntegrityError:  # another process published it at the same moment
            return None
        EVENTS_STORED.labels("reporting").inc(len(stored))
        return recap

    def get_recap(self, agency: str, year: int, month: int) -> MonthlyRekap | None:
        """The recap of a month, if produced."""
        try:
            recap: MonthlyRekap = self.repository.get(recap_id(agency, year, month))
        except AggregateNotFoundError:
            return None
        return recap

    def files(self, document_id: str) -> tuple[bytes, bytes] | None:
        """The XLSX and PDF of a produced recap."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        query = SQL("SELECT xlsx, pdf FROM {}.recap_files WHERE id = %s").format(
            Identifier(recorder.datastore.schema)
        )
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(query, (UUID(document_id),))
            row = curs.fetchone()
        return (bytes(row["xlsx"]), bytes(row["pdf"])) if row else None


async def produce_recap(
    recaps: Recaps, figures: MonthFigures, trigger: str, at: datetime
) -> MonthlyRekap | None:
    """Produce a month's recap: its files drawn in their turn on the drawing thread (drawing.py),
    then stored. A scheduled run leaves one already produced alone (None), unless the month's
    figures changed since: then it is produced again, marked "diperbarui". None too if another
    process produced it at the same moment."""
    recap = await in_thread(partial(recaps.get_recap, figures.agency, figures.year, figures.month))
    shape = MonthShape(figures.by_channel, figures.by_category)
    if recap is not None and trigger == "scheduled" and not recap.outdated(shape):
        return None
    revised_from = recap.first_produced_at if recap is not None else None
    letter = documents.recap_letter(figures, at, revised_from)
    files = await drawn(lambda: (printed(letter, "xlsx"), printed(letter, "pdf")))
    return await in_thread(partial(recaps.record, figures, trigger, at, files, recap))


def open_recaps(settings: Settings) -> Recaps:
    """Reporting's event store for recaps (creates its tables)."""
    topic = f"{RecapsRecorder.__module__}:{RecapsRecorder.__qualname__}"
    return Recaps(env=settings.eventsourcing_env(schema=SCHEMA, recorder_topic=topic))


def _as_contract(contract: type[RekapPublished]) -> Any:
    def to_contract(event: Any) -> RekapPublished:
        return contract(
            year=event.year,
            month=event.month,
            produced_at=event.produced_at,
            trigger=event.trigger,
            complaints=event.complaints,
            consultations=event.consultations,
            document_id=event.document_id,
        )

    return to_contract


WIRE = WireTable(
    published={
        MonthlyRekap.RekapPublished: _as_contract(RekapPublished),  # type: ignore[attr-defined]
        MonthlyRekap.RekapRevised: _as_contract(RekapRevised),  # type: ignore[attr-defined]
    },
    internal=frozenset(),
)
"""Reporting's wire table: both events a MonthlyRekap records are published."""


@dataclass(frozen=True)
class MonthShape:
    """A month's counts per channel and category: what entries recorded late change."""

    by_channel: dict[str, tuple[int, int]]  # channel -> (complaints, consultations)
    by_category: list[dict[str, Any]]

    @property
    def fingerprint(self) -> str:
        """Their digest, as a recap records it."""
        return documents.fingerprint(self.by_channel, self.by_category)

    @property
    def totals(self) -> tuple[int, int]:
        """Complaints and consultations."""
        return (
            sum(c for c, _ in self.by_channel.values()),
            sum(c for _, c in self.by_channel.values()),
        )


async def _shape(conn: Connection, *, agency: str, year: int, month: int, tz: str) -> MonthShape:
    start, end = monthly.bounds(year, month, tz)
    counts = await conn.fetch(
        "SELECT channel, kind, sum(count)::bigint AS n FROM rekap_by_channel "
        "WHERE agency = $1 AND year = $2 AND month = $3 GROUP BY channel, kind",
        agency,
        year,
        month,
    )
    by_channel: dict[str, list[int]] = {}
    for row in counts:
        pair = by_channel.setdefault(row["channel"], [0, 0])
        pair[0 if row["kind"] == Kind.COMPLAINT else 1] += row["n"]
    categories = await monthly.by_category(conn, agencies=[agency], start=start, end=end)
    return MonthShape({k: (v[0], v[1]) for k, v in by_channel.items()}, categories)


async def month_shape(
    pool: Source, settings: Settings, year: int, month: int, agency: str | None = None
) -> MonthShape:
    """A month's counts per channel and category of an agency (the home one by default), to
    tell whether its recap is out of date."""
    shape = partial(
        _shape, agency=agency or settings.agency, year=year, month=month, tz=settings.timezone
    )
    return await read(pool, shape)


def office_of(settings: Settings, agency: Agency | None) -> Office:
    """An agency's letterhead: the home agency's from the settings, another's from its data."""
    if agency is None or agency.id == settings.agency:
        return Office.of(settings)
    return Office.of_agency(agency, settings)


async def month_figures(
    pool: Source, settings: Settings, year: int, month: int, of: Agency | None = None
) -> MonthFigures:
    """What a month's recap of an agency (the home one by default) says, from the read model
    (422 for a month not begun: no recap reports nothing under a number)."""
    monthly.begun(year, month, settings.timezone)
    start, end = monthly.bounds(year, month, settings.timezone)
    agency, now = of.id if of else settings.agency, datetime.now(UTC)

    async def work(conn: Connection) -> tuple[Any, ...]:
        span: dict[str, Any] = {"agencies": [agency], "start": start, "end": end}
        return (
            await _shape(conn, agency=agency, year=year, month=month, tz=settings.timezone),
            await monthly.counts(conn, now=now, **span),
            await monthly.cases(conn, now=now, **span),
            await queries.compliance(conn, kind=Kind.COMPLAINT, **span),
        )

    shape, figures, cases, compliance = await read(pool, work)
    tz = ZoneInfo(settings.timezone)
    return MonthFigures(
        agency=agency,
        office=office_of(settings, of),
        year=year,
        month=month,
        by_channel=shape.by_channel,
        by_category=shape.by_category,
        timeliness=monthly.timeliness(figures),
        compliance=compliance,
        # In the order received, the cases whose day is not shown last: placed among the others
        # by day, a confidential case's place would tell its day.
        cases=[
            monthly.public_case(record, tz)
            for record in sorted(cases, key=lambda record: bool(record["confidential"]))
        ],
    )


def previous_month(day: date) -> tuple[int, int]:
    """The (year, month) before the month of `day`."""
    first = day.replace(day=1) - timedelta(days=1)
    return first.year, first.month


async def run_schedule(settings: Settings, pool: Pool, recaps: Recaps) -> None:
    """Produce last month's recap once the first working day of this month has come."""
    while True:
        try:
            await _scheduled_once(settings, pool, recaps)
        except Unavailable:
            pass  # the outage is logged once (shared.outages); try again at the next check
        except Busy:
            log.warning("monthly recap: the drawing queue is full; will try again")
        except NotDrawn:
            log.warning("monthly recap: its files were not drawn; will try again")
        except (OSError, psycopg.Error) as error:
            log.warning("monthly recap: %s; will try again", error)
        await asyncio.sleep(settings.recap_check_seconds)


async def _scheduled_once(settings: Settings, pool: Pool, recaps: Recaps) -> None:
    now = datetime.now(ZoneInfo(settings.timezone))
    every = await read(pool, partial(agencies.load, settings=settings))
    for agency in every.values():
        await _scheduled_for(settings, pool, recaps, agency, now)


async def _scheduled_for(
    settings: Settings, pool: Pool, recaps: Recaps, agency: Agency, now: datetime
) -> None:
    """One agency's recap of last month, once its first working day of this month has come."""
    last = previous_month(now.date())
    before = previous_month(date(*last, 1))
    if await in_thread(partial(recaps.get_recap, agency.id, *before)):
        await _publish(settings, pool, recaps, before, now, agency)  # again if entries came late
    if await in_thread(partial(recaps.get_recap, agency.id, *last)) is None:
        home = agency.id == settings.agency
        base = settings.working_calendar() if home else agency.calendar(settings.timezone)
        calendar = await fetch(pool, queries.calendar, agency=agency.id, base=base)
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if now.date() < calendar.add_working_minutes(start, 0).date():
            return
    await _publish(settings, pool, recaps, last, now, agency)


async def _publish(
    settings: Settings,
    pool: Pool,
    recaps: Recaps,
    when: tuple[int, int],
    now: datetime,
    agency: Agency,
) -> None:
    figures = await month_figures(pool, settings, *when, of=agency)
    if await produce_recap(recaps, figures, "scheduled", now):
        log.info("published the recap of %s, %04d-%02d", agency.id, *when)
