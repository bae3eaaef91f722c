"""The outbox relay: the event store's notification log, published to RabbitMQ in order.

At-least-once and in order: read `notification_id > position` (ids can have gaps), publish
with confirms, and only then store the new position. One active relay per service, by a
PostgreSQL advisory lock held on the relay's own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aio_pika.abc import AbstractExchange
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from shared import db
from shared.events import Contract, Envelope, seal
from shared.messaging import connect, declare_topology, publish_confirmed
from shared.metrics import EVENTS_PUBLISHED, RELAY_ACTIVE, RELAY_LAG
from shared.settings import Settings

log = logging.getLogger(__name__)

Translate = Callable[[asyncpg.Record], Envelope | None]
Wire = Mapping[type[Any], Callable[[Any], Contract]]


def translator(app: Application[Any], wire: Wire) -> Translate:
    """Stored row → domain event (the library's mapper, upcasting included) → Envelope.

    Events the wire table does not list are internal and stay in the service.
    """

    def translate(row: asyncpg.Record) -> Envelope | None:
        stored = StoredEvent(
            originator_id=row["originator_id"],
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        event: Any = app.mapper.to_domain_event(stored)
        to_contract = wire.get(type(event))
        if to_contract is None:
            return None
        return seal(
            to_contract(event),
            subject=event.originator_id,
            version=event.originator_version,
            time=event.timestamp,
            agency=event.agency,
        )

    return translate


@dataclass(frozen=True)
class EventLog:
    """Where a service's eventsourcing application keeps its stored events."""

    schema: str
    table: str

    @property
    def qualified(self) -> str:
        """schema.table, quoted."""
        return f'"{self.schema}"."{self.table}"'

    @property
    def channel(self) -> str:
        """The NOTIFY channel the library signals on after each insert."""
        return self.table.replace(".", "_")

    @classmethod
    def of(cls, app: Application[Any]) -> EventLog:
        """The event log of an application on PostgreSQL."""
        recorder = app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        return cls(recorder.datastore.schema, recorder.events_table_name)


async def read_notifications(
    conn: db.Connection, log_: EventLog, *, after: int, limit: int
) -> list[asyncpg.Record]:
    """Stored events with notification_id > after, in order."""
    return await conn.fetch(
        f"SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {log_.qualified} WHERE notification_id > $1 ORDER BY notification_id LIMIT $2",
        after,
        limit,
    )


@dataclass
class Relay:
    """Publishes one service's event log; run() until cancelled."""

    settings: Settings
    service: str
    log: EventLog
    translate: Translate
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        """Hold the lock, pump, wait for NOTIFY or the poll interval; survive outages."""
        delay = 0.5
        while True:
            try:
                await self._run_with_lock()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("%s relay: %s; retrying", self.service, error)
            except Exception:
                log.exception("%s relay failed; retrying", self.service)
            RELAY_ACTIVE.labels(self.service).set(0)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _run_with_lock(self) -> None:
        conn = await asyncpg.connect(self.settings.postgres_dsn(), timeout=10)
        try:
            await self._acquire_lock(conn)
            RELAY_ACTIVE.labels(self.service).set(1)
            await self._ensure_position_table(conn)
            await conn.add_listener(self.log.channel, lambda *_: self._wake.set())
            broker = await connect(self.settings, f"aduan-{self.service}-relay")
            try:
                channel = await broker.channel(publisher_confirms=True, on_return_raises=True)
                exchange = await declare_topology(channel, self.settings)
                await self._pump_forever(conn, exchange)
            finally:
                await broker.close()
        finally:
            await conn.close(timeout=5)

    async def _acquire_lock(self, conn: asyncpg.Connection[Any]) -> None:
        key = f"aduan.relay.{self.log.schema}.{self.log.table}"
        while not await conn.fetchval(  # noqa: ASYNC110 - another relay holds it: poll
            "SELECT pg_try_advisory_lock(hashtext($1))", key
        ):
            await asyncio.sleep(self.settings.relay_poll_seconds)

    async def _ensure_position_table(self, conn: asyncpg.Connection[Any]) -> None:
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{self.log.schema}".relay_position ('
            "log text PRIMARY KEY, position bigint NOT NULL)"
        )

    async def _pump_forever(
        self, conn: asyncpg.Connection[Any], exchange: AbstractExchange
    ) -> None:
        while True:
            self._wake.clear()
            if await self.pump(conn, exchange):
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.relay_poll_seconds)

    async def pump(self, conn: asyncpg.Connection[Any], exchange: AbstractExchange) -> int:
        """Publish the next batch after the stored position; the number of rows read."""
        position = await self.position(conn)
        rows = await read_notifications(
            conn, self.log, after=position, limit=self.settings.relay_batch
        )
        if not rows:
            RELAY_LAG.labels(self.service).set(0)
            return 0
        envelopes = await asyncio.to_thread(envelopes_of, rows, self.translate)
        await publish_confirmed(exchange, envelopes)
        EVENTS_PUBLISHED.labels(self.service).inc(len(envelopes))
        await self.save_position(conn, rows[-1]["notification_id"])
        await self._measure_lag(conn, rows[-1]["notification_id"])
        return len(rows)

    async def position(self, conn: asyncpg.Connection[Any]) -> int:
        """The last notification id whose publication was confirmed."""
        value = await conn.fetchval(
            f'SELECT position FROM "{self.log.schema}".relay_position WHERE log = $1',
            self.log.table,
        )
        return int(value or 0)

    async def save_position(self, conn: asyncpg.Connection[Any], position: int) -> None:
        """Record that everything up to `position` is confirmed by the broker."""
        await conn.execute(
            f'INSERT INTO "{self.log.schema}".relay_position (log, position) VALUES ($1, $2) '
            "ON CONFLICT (log) DO UPDATE SET position = EXCLUDED.position",
            self.log.table,
            position,
        )

    async def _measure_lag(self, conn: asyncpg.Connection[Any], position: int) -> None:
        newest = await conn.fetchval(f"SELECT max(notification_id) FROM {self.log.qualified}")
        RELAY_LAG.labels(self.service).set(max(0, int(newest or 0) - position))


def envelopes_of(rows: Sequence[asyncpg.Record], translate: Translate) -> list[Envelope]:
    """The wire events of some stored rows (internal events left out)."""
    return [env for env in map(translate, rows) if env is not None]
