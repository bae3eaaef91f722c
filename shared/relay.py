"""The outbox relay: the event store's notification log, published to RabbitMQ in order.

At-least-once and in order: read `notification_id > position` (ids can have gaps), publish
with confirms, and only then store the new position. One active relay per service, by a
PostgreSQL advisory lock held on the relay's own connection.

Fails closed: a stored event its service's wire table neither maps to a contract nor declares
internal is refused. The relay publishes everything before it and holds there (readers wait
for gapless versions per stream: skipping it would lose it for them for good), says so once
per event (an error line, `aduan_relay_refused`), and goes on by itself once a release that
maps the event is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from aio_pika.abc import AbstractExchange
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import TopicError
from pydantic import ValidationError

from shared import db
from shared.broker import RECONNECT_PAUSES, connect, on_broker
from shared.events import Contract, Envelope, seal
from shared.messaging import publish_confirmed
from shared.metrics import (
    EVENTS_PUBLISHED,
    RELAY_ACTIVE,
    RELAY_CAUGHT_UP,
    RELAY_LAG,
    RELAY_REFUSED,
)
from shared.outages import OUTAGES, Unavailable, within
from shared.settings import Settings
from shared.topology import declare_topology

log = logging.getLogger(__name__)
T = TypeVar("T")
CLOSE_SECONDS = 2.0

ToContract = Callable[[Any], Contract]
Translate = Callable[[asyncpg.Record], Envelope | None]


@dataclass(frozen=True)
class WireTable:
    """A service's wire table: every event class its aggregates record is published, by its
    mapping to a contract, or declared internal (kept in the service). Nothing else is."""

    published: Mapping[type[Any], ToContract]
    internal: frozenset[type[Any]] = frozenset()

    def __post_init__(self) -> None:
        if both := self.internal.intersection(self.published):
            raise ValueError(f"published and internal: {sorted(c.__qualname__ for c in both)}")


class Unwired(Exception):
    """A stored event the wire table neither publishes nor declares internal."""

    def __init__(self, row: asyncpg.Record, why: str) -> None:
        super().__init__(
            f"notification {row['notification_id']} ({row['topic']}, stream "
            f"{row['originator_id']} version {row['originator_version']}): {why}"
        )
        self.notification_id: int = row["notification_id"]


def translator(app: Application[Any], table: WireTable) -> Translate:
    """Stored row → domain event (the library's mapper, upcasting included) → Envelope.

    None for an event declared internal; `Unwired` for one the table does not know (or whose
    class this release cannot even load: a newer release recorded it), or whose mapping its
    contract refuses.
    """

    def translate(row: asyncpg.Record) -> Envelope | None:
        stored = StoredEvent(
            originator_id=row["originator_id"],
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        try:
            event: Any = app.mapper.to_domain_event(stored)
        except TopicError as error:
            raise Unwired(row, f"unknown event class ({error})") from None
        if type(event) in table.internal:
            return None
        to_contract = table.published.get(type(event))
        if to_contract is None:
            raise Unwired(row, "neither published nor declared internal by the wire table")
        try:
            data = to_contract(event)
        except ValidationError as error:  # a mapping that no longer fits its contract
            raise Unwired(row, f"its contract refuses it ({error.error_count()} errors)") from None
        return seal(
            data,
            subject=event.originator_id,
            version=event.originator_version,
            time=event.timestamp,
            agency=event.agency,
        )

    return translate


@dataclass(frozen=True)
class Batch:
    """What some stored rows give for the wire, up to the first refused one."""

    envelopes: list[Envelope]
    through: int | None  # the last notification id covered (published or internal)
    refused: Unwired | None = None


def batch_of(rows: Sequence[asyncpg.Record], translate: Translate) -> Batch:
    """The wire events of some stored rows, in order, stopping before a refused one."""
    envelopes: list[Envelope] = []
    through = None
    for row in rows:
        try:
            envelope = translate(row)
        except Unwired as refused:
            return Batch(envelopes, through, refused)
        if envelope is not None:
            envelopes.append(envelope)
        through = row["notification_id"]
    return Batch(envelopes, through)


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
    """Publishes one service's event log; run() until cancelled.

    Every call has a deadline: a store call the write deadline, a broker call (a publish's
    confirmation included) the broker deadline. A server away ends the round (its outage is
    logged once, by OUTAGES); the relay connects again, and publishes again from its stored
    position whatever the broker may have received unconfirmed (consumers are idempotent).
    """

    settings: Settings
    service: str
    log: EventLog
    translate: Translate
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _pause: float = RECONNECT_PAUSES[0]
    _held: int | None = None  # the notification id of the refused event it holds before
    _position: int | None = None  # as stored, while it holds the lock (None: read it)

    async def run(self) -> None:
        """Hold the lock, pump, wait for NOTIFY or the poll interval; survive outages."""
        while True:
            try:
                await self._run_with_lock()
            except Unavailable:
                pass  # OUTAGES has said so, once per outage
            except Exception:
                log.exception("%s relay failed; retrying", self.service)
            RELAY_ACTIVE.labels(self.service).set(0)
            await asyncio.sleep(self._pause)
            self._pause = min(self._pause * 2, RECONNECT_PAUSES[1])

    async def _run_with_lock(self) -> None:
        conn = await self._store(None, asyncpg.connect(self.settings.postgres_dsn()))
        self._position = None  # read again under the lock
        try:
            await self._acquire_lock(conn)
            RELAY_ACTIVE.labels(self.service).set(1)
            await self._store(conn, self._ensure_position_table(conn))
            await self._store(conn, conn.add_listener(self.log.channel, self._notified))
            broker = await self._broker(connect(self.settings, f"aduan-{self.service}-relay"))
            try:
                channel = await self._broker(
                    broker.channel(publisher_confirms=True, on_return_raises=True)
                )
                exchange = await self._broker(declare_topology(channel, self.settings))
                await self._pump_forever(conn, exchange)
            finally:
                await broker.close()
        finally:
            await _close(conn)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _store(self, conn: asyncpg.Connection[Any] | None, call: Awaitable[T]) -> T:
        """A call on the relay's connection under the write deadline.

        A server restart tells each backend FATAL (57P01) and then closes the socket; a query
        sent between the two fails with asyncpg's InternalClientError ("cannot switch to
        state"), on a connection that is by then closed. That is the outage, not a bug.
        """
        try:
            return await within("postgres", call, self.settings.write_deadline_seconds)
        except asyncpg.InternalClientError:
            if conn is None or not conn.is_closed():
                raise
            OUTAGES.down("postgres", "connection closed by the server")
            raise Unavailable("postgres") from None

    async def _broker(self, call: Awaitable[T]) -> T:
        return await on_broker(call, self.settings.broker_deadline_seconds)

    async def _acquire_lock(self, conn: asyncpg.Connection[Any]) -> None:
        key = f"aduan.relay.{self.log.schema}.{self.log.table}"
        while not await self._store(  # noqa: ASYNC110 - another relay holds it: poll
            conn, conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key)
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
            if await self.pump(conn, exchange) >= self.settings.relay_batch:
                continue  # a full batch: more may wait (else what came since has woken it)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.relay_poll_seconds)

    async def pump(self, conn: asyncpg.Connection[Any], exchange: AbstractExchange) -> int:
        """Publish the next batch after the stored position; the number of rows read (0 while
        it holds before a refused event)."""
        if self._position is None:  # only this relay moves it while it holds the lock
            self._position = await self._store(conn, self.position(conn))
        position = self._position
        rows = await self._store(
            conn,
            read_notifications(conn, self.log, after=position, limit=self.settings.relay_batch),
        )
        self._pause = RECONNECT_PAUSES[0]  # both servers answer: the next outage starts afresh
        if not rows:
            self._lag(0)
            return 0
        batch = await asyncio.to_thread(batch_of, rows, self.translate)
        if batch.envelopes:
            await self._broker(publish_confirmed(exchange, batch.envelopes))
            EVENTS_PUBLISHED.labels(self.service).inc(len(batch.envelopes))
        if batch.through is not None:
            await self._store(conn, self.save_position(conn, batch.through))
            self._position = batch.through
        self._hold(batch.refused)
        if batch.refused or len(rows) >= self.settings.relay_batch:
            await self._store(conn, self._measure_lag(conn, batch.through or position))
        else:
            self._lag(0)  # it read to the end of the log and published all it read
        return 0 if batch.refused else len(rows)

    def _hold(self, refused: Unwired | None) -> None:
        """Raise the alarm while holding before a refused event (its line once); clear it after."""
        if refused is None:
            if self._held is not None:
                log.info("%s relay goes on past notification %d", self.service, self._held)
            self._held = None
            RELAY_REFUSED.labels(self.service).set(0)
            return
        RELAY_REFUSED.labels(self.service).set(1)
        if self._held != refused.notification_id:
            self._held = refused.notification_id
            log.error(
                "%s relay holds before %s; nothing after it is published until a release "
                "publishes it or declares it internal",
                self.service,
                refused,
            )

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
        self._lag(max(0, int(newest or 0) - position))

    def _lag(self, notifications: int) -> None:
        """The lag gauge; caught up (none left): the time of it, whose age alerts measure."""
        RELAY_LAG.labels(self.service).set(notifications)
        if not notifications:
            RELAY_CAUGHT_UP.labels(self.service).set_to_current_time()


async def _close(conn: asyncpg.Connection[Any]) -> None:
    """Close the relay's connection; one the server dropped or that hangs is just let go."""
    if conn.is_closed():
        return
    try:
        await conn.close(timeout=CLOSE_SECONDS)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()
