"""The monthly recap (SOP step 7): produced on the first working day of each month for the
month before (or on demand), kept as XLSX and PDF, and announced as RekapPublished.

Reporting's own small event store: one MonthlyRekap aggregate per agency and month, its id
derived from both, so two processes cannot both publish the same month.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
from services.reporting.documents import MonthFigures
from services.reporting.reads import fetch, in_thread
from shared.aggregate import AgencyAggregate
from shared.db import Connection, Pool, read
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
    ) -> None:
        self.agency, self.year, self.month = agency, year, month
        self.produced_at, self.document_id = produced_at, document_id

    @staticmethod
    def create_id(agency: str, year: int, month: int) -> UUID:
        """Deterministic: the agency's recap of that month."""
        return recap_id(agency, year, month)

    def revise(
        self, *, produced_at: datetime, complaints: int, consultations: int, document_id: str
    ) -> None:
        """Produce the month's recap again, on demand."""
        self._revised(
            year=self.year,
            month=self.month,
            produced_at=produced_at,
            trigger="on_demand",
            complaints=complaints,
            consultations=consultations,
            document_id=document_id,
        )

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
    ) -> None:
        self.produced_at, self.document_id = produced_at, document_id


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

    def publish(self, figures: MonthFigures, trigger: str, at: datetime) -> MonthlyRekap | None:
        """Produce a month's recap; a scheduled one already produced is left alone (None)."""
        files = RecapFiles(
            uuid4(),
            recap_id(figures.agency, figures.year, figures.month),
            documents.workbook(figures),
            documents.pdf(figures, at),
        )
        counts = {"complaints": figures.complaints, "consultations": figures.consultations}
        try:
            recap: MonthlyRekap = self.repository.get(files.recap_id)
        except AggregateNotFoundError:
            recap = MonthlyRekap(
                agency=figures.agency,
                year=figures.year,
                month=figures.month,
                produced_at=at,
                trigger=trigger,
                document_id=str(files.id),
                **counts,
            )
        else:
            if trigger == "scheduled":
                return None
            recap.revise(produced_at=at, document_id=str(files.id), **counts)
        try:
            stored = self.save(recap, files=[files])
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


async def month_figures(pool: Pool, settings: Settings, year: int, month: int) -> MonthFigures:
    """What a month's recap says, from the read model."""
    tz = ZoneInfo(settings.timezone)
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)

    async def work(conn: Connection) -> tuple[list[Any], list[dict[str, Any]]]:
        counts = await conn.fetch(
            "SELECT channel, kind, timeliness, sum(count)::bigint AS n FROM rekap "
            "WHERE agency = $1 AND year = $2 AND month = $3 GROUP BY channel, kind, timeliness",
            settings.agency,
            year,
            month,
        )
        compliance = await queries.compliance(
            conn, agency=settings.agency, kind=Kind.COMPLAINT, start=start, end=end
        )
        return counts, compliance

    counts, compliance = await read(pool, work)
    by_channel: dict[str, list[int]] = {}
    timeliness = {"on_time": 0, "late": 0, "open": 0}
    for row in counts:
        pair = by_channel.setdefault(row["channel"], [0, 0])
        pair[0 if row["kind"] == Kind.COMPLAINT else 1] += row["n"]
        timeliness[row["timeliness"]] = timeliness.get(row["timeliness"], 0) + row["n"]
    return MonthFigures(
        agency=settings.agency,
        year=year,
        month=month,
        by_channel={channel: (pair[0], pair[1]) for channel, pair in by_channel.items()},
        on_time=timeliness["on_time"],
        late=timeliness["late"],
        still_open=timeliness["open"],
        compliance=compliance,
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
        except (OSError, psycopg.Error) as error:
            log.warning("monthly recap: %s; will try again", error)
        await asyncio.sleep(settings.recap_check_seconds)


async def _scheduled_once(settings: Settings, pool: Pool, recaps: Recaps) -> None:
    now = datetime.now(ZoneInfo(settings.timezone))
    year, month = previous_month(now.date())
    if await in_thread(partial(recaps.get_recap, settings.agency, year, month)):
        return
    calendar = await fetch(
        pool, queries.calendar, agency=settings.agency, base=settings.working_calendar()
    )
    first_working = calendar.add_working_minutes(now.replace(day=1, hour=0, minute=0), 0).date()
    if now.date() < first_working:
        return
    figures = await month_figures(pool, settings, year, month)
    if await asyncio.to_thread(recaps.publish, figures, "scheduled", now):
        log.info("published the recap of %04d-%02d", year, month)
