"""Dead letters: the parking queues are the transport, a table in reporting's store the record.

`collect` moves each parked message from its parking queue into the table: insert, commit,
then acknowledge, so a crash between the two leaves the message in the queue (a parking the
consumer stamped is inserted once; an unstamped one, parked by the broker's own limit, may show
twice, never zero times). A listing collects, then reads the table; it never puts a message
back in a queue, so listing any number of times redelivers nothing and changes no count. A
re-queue publishes the stored messages the operator saw back to their service's queue
(confirmed) inside the transaction that records who re-queued them; each copy names its letter
(`x-aduan-requeued`), so if it fails again its consumer parks it at once and the new parking
joins the letter's history.

The parking queues keep their quorum declaration: deployments need no queue migration. The
table lives in reporting_store beside the recaps, not in the read model, which a rebuild
replaces: these rows come from no event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar
from uuid import uuid4

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from services.reporting.recaps import SCHEMA
from shared.broker import connect, on_broker
from shared.db import Connection, Pool
from shared.outages import OUTAGES
from shared.parking import REQUEUED, Parking, own_headers
from shared.settings import Settings
from shared.topology import BINDINGS, CASE_HEADER, declare_parking, inbox, parking_queue

TABLE = f"{SCHEMA}.dead_letters"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq           bigserial UNIQUE,
    parking_id    text PRIMARY KEY,
    letter_id     text NOT NULL,
    service       text NOT NULL,
    message_id    text,
    type          text,
    content_type  text,
    headers       jsonb NOT NULL,
    body          bytea NOT NULL,
    reason        text,
    deliveries    integer,
    first_failure timestamptz,
    last_failure  timestamptz,
    requeued_by   text,
    requeued_at   timestamptz
);
CREATE INDEX IF NOT EXISTS dead_letters_letter ON {TABLE} (letter_id, seq);
CREATE INDEX IF NOT EXISTS dead_letters_waiting ON {TABLE} (service, seq)
    WHERE requeued_at IS NULL;
"""
COLUMNS = (
    "parking_id, letter_id, service, message_id, type, body, reason, deliveries, "
    "first_failure, last_failure, requeued_by, requeued_at"
)
COLLECTING = "aduan.dead-letters.collect"
COLLECT_SECONDS = 0.5
"""How long one collection moves messages: short, as a listing waits for it (a flood of
parked messages is moved over several calls, and counted in the queue meanwhile)."""
BROKER_SECONDS = 1.0
"""How long a request waits on the broker to collect or re-queue (a healthy one answers in
milliseconds): with the listing's own reads beside it, within the 2 s promise when the broker
has just gone silent and no outage is known yet (then OUTAGES' shorter deadline)."""
T = TypeVar("T")
State = Literal["parked", "requeued", "all"]
STATES: dict[State, str] = {
    "parked": "requeued_at IS NULL",
    "requeued": "requeued_at IS NOT NULL",
    "all": "true",
}


@dataclass(frozen=True)
class Letter:
    """One parking of a message, and the earlier parkings of the same message."""

    row: asyncpg.Record
    history: list[asyncpg.Record]


async def on_the_broker(call: Awaitable[T]) -> T:
    """`call` on the broker within a request's wait for it (BROKER_SECONDS; OUTAGES' shorter one
    while an outage of the broker is on)."""
    return await on_broker(call, OUTAGES.deadline("rabbitmq", BROKER_SECONDS))


async def create_table(pool: Pool) -> None:
    """Create the table (idempotent)."""
    async with pool.acquire() as conn:
        await conn.execute(DDL)


async def collect(settings: Settings, pool: Pool, *, budget: float = COLLECT_SECONDS) -> int:
    """Move what waits in every parking queue into the table, for about `budget` seconds (the
    rest waits for the next call); how many were moved. One collector at a time (a lock
    across processes): a listing waits for a collection under way, never shows half of it."""
    until = time.monotonic() + budget
    connection = await on_the_broker(connect(settings, "aduan-dead-letters"))
    try:
        channel = await connection.channel()
        await declare_parking(channel, settings)  # not every partition: this runs per listing
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", COLLECTING)
            moved = 0
            for service in BINDINGS:
                queue = await channel.get_queue(parking_queue(service))
                moved += await _drain(queue, service, conn, settings.delivery_limit, until)
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", COLLECTING)
        return moved  # on an error, the pool's reset of the connection releases the lock
    finally:
        await connection.close()


async def _drain(
    queue: AbstractQueue, service: str, conn: Connection, delivery_limit: int, until: float
) -> int:
    moved = 0
    while time.monotonic() < until:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        await _store(conn, service, message, delivery_limit)
        await message.ack()
        moved += 1
    return moved


async def _store(
    conn: Connection, service: str, message: AbstractIncomingMessage, delivery_limit: int
) -> None:
    headers = message.headers or {}
    parking = Parking.of(headers, fallback_id=str(uuid4()), delivery_limit=delivery_limit)
    await conn.execute(
        f"INSERT INTO {TABLE} (parking_id, letter_id, service, message_id, type, "
        "content_type, headers, body, reason, deliveries, first_failure, last_failure) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
        "ON CONFLICT (parking_id) DO NOTHING",
        parking.id,
        parking.letter,
        service,
        message.message_id,
        message.type,
        message.content_type,
        json.dumps(own_headers(headers), default=str),
        message.body,
        parking.reason,
        parking.deliveries,
        parking.first_failure,
        parking.last_failure,
    )


async def letters(conn: Connection, state: State) -> list[Letter]:
    """The parkings in a state, oldest first, each with its message's earlier parkings."""
    rows = await conn.fetch(
        f"SELECT seq, {COLUMNS} FROM {TABLE} WHERE {STATES[state]} ORDER BY seq"
    )
    earlier = await conn.fetch(
        f"SELECT seq, {COLUMNS} FROM {TABLE} WHERE letter_id = ANY($1::text[]) ORDER BY seq",
        list({row["letter_id"] for row in rows}),
    )
    by_letter: dict[str, list[asyncpg.Record]] = {}
    for parking in earlier:
        by_letter.setdefault(parking["letter_id"], []).append(parking)
    return [
        Letter(row, [e for e in by_letter[row["letter_id"]] if e["seq"] < row["seq"]])
        for row in rows
    ]


async def requeue(
    settings: Settings,
    pool: Pool,
    *,
    service: str,
    message_id: str | None,
    by: str,
    may: Callable[[Connection, Sequence[bytes]], Awaitable[list[bool]]],
) -> int:
    """Send a service's parked messages (one, or all of those listed) back to its queue; record
    who did. `may`: for each message (by its body), whether this operator may send it back."""
    at = datetime.now(UTC)  # before the copies go out: a copy may fail again at once
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            f"SELECT parking_id, letter_id, message_id, type, content_type, headers, body "
            f"FROM {TABLE} WHERE service = $1 AND requeued_at IS NULL "
            "AND ($2::text IS NULL OR message_id = $2) ORDER BY seq FOR UPDATE SKIP LOCKED",
            service,
            message_id,
        )
        allowed = await may(conn, [bytes(row["body"]) for row in rows])
        rows = [row for row, sent in zip(rows, allowed, strict=True) if sent]
        if not rows:
            return 0
        await _publish(settings, service, rows)
        await conn.execute(
            f"UPDATE {TABLE} SET requeued_by = $1, requeued_at = $2 "
            "WHERE parking_id = ANY($3::text[])",
            by,
            at,
            [row["parking_id"] for row in rows],
        )
    return len(rows)


async def _publish(settings: Settings, service: str, rows: Sequence[asyncpg.Record]) -> None:
    connection = await on_the_broker(connect(settings, "aduan-operator"))
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(inbox(service))
        for row in rows:
            headers = json.loads(row["headers"])
            # Back through the service's inbox, to its case's partition (a letter parked before
            # cases carried their header goes by its message id).
            headers.setdefault(CASE_HEADER, row["message_id"] or row["letter_id"])
            message = aio_pika.Message(
                body=row["body"],
                content_type=row["content_type"],
                message_id=row["message_id"],
                type=row["type"],
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=headers | {REQUEUED: row["letter_id"]},
            )
            await exchange.publish(message, routing_key=service, mandatory=True)
    finally:
        await connection.close()


async def waiting(conn: Connection) -> dict[str, int]:
    """How many parked messages wait, by service."""
    rows = await conn.fetch(
        f"SELECT service, count(*) AS n FROM {TABLE} WHERE requeued_at IS NULL GROUP BY service"
    )
    return {service: 0 for service in BINDINGS} | {row["service"]: row["n"] for row in rows}
