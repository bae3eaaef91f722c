"""The connection to RabbitMQ: heartbeat, deadlines, readiness, and one log line per outage."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractConnection
from aio_pika.exceptions import ChannelInvalidStateError
from yarl import URL

from shared.outages import DEADLINE_SECONDS, OUTAGES, Unavailable, within
from shared.settings import Settings

T = TypeVar("T")

RECONNECT_PAUSES = (0.5, 5.0)
"""The first pause before connecting again after an outage, and the longest (doubling)."""


async def connect(settings: Settings, name: str) -> AbstractConnection:
    """A connection named for the management UI, with the configured heartbeat.

    Built here rather than by `aio_pika.connect`, which drops a connection object whose
    handshake failed without closing it: its `__del__` then makes a `close()` coroutine that,
    when the garbage collector runs in a worker thread, is never awaited (a RuntimeWarning
    after every broker outage). Any failure to connect means the broker is unreachable.
    """
    url = URL(settings.rabbitmq_url).update_query(heartbeat=settings.rabbitmq_heartbeat_seconds)
    connection = aio_pika.Connection(url, client_properties={"connection_name": name})
    try:
        await connection.connect(timeout=settings.broker_deadline_seconds)
    except asyncio.CancelledError:
        await connection.close()
        raise
    except Exception as error:
        await connection.close()
        if isinstance(error, aiormq.exceptions.AMQPConnectionError):
            raise
        raise aiormq.exceptions.AMQPConnectionError(f"cannot connect: {error!r}") from error
    return connection


async def on_broker(call: Awaitable[T], seconds: float) -> T:
    """`call` under a deadline (`within`); a channel closed by a lost connection also counts
    as the broker away."""
    try:
        return await within("rabbitmq", call, seconds)
    except ChannelInvalidStateError as error:
        OUTAGES.down("rabbitmq", error)
        raise Unavailable("rabbitmq") from None


class _BrokerNoise(logging.Filter):
    """Drops aiormq's lines that repeat, per attempt or per connection, what OUTAGES says once
    per outage (a refused attempt, a lost connection's traceback, a silent one given up)."""

    REPEATS = (
        "error when creating transport",
        "Cancelling cause reader exited abnormally",
        "Server connection %r was stuck",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.REPEATS)


def quiet_broker_noise() -> None:
    """Leave the broker's outages to OUTAGES' one line each."""
    logging.getLogger("aiormq.connection").addFilter(_BrokerNoise())


class BrokerLink:
    """A consumer's connection to the broker, as readiness sees it.

    Ready while the consumer consumes and the broker answers a round trip (a channel opened and
    closed) within the deadline: a frozen broker answers nothing, long before the heartbeat
    gives the connection up. One round trip at a time: a check during a freeze waits on the
    one already sent instead of piling channels onto a silent connection.
    """

    def __init__(self, deadline: float = DEADLINE_SECONDS) -> None:
        self.deadline = deadline
        self.connection: AbstractConnection | None = None
        self._round_trip: tuple[AbstractConnection, asyncio.Task[None]] | None = None

    async def check(self) -> bool:
        """Readiness: consuming, and the broker answering within the deadline."""
        connection = self.connection
        if connection is None or connection.is_closed:
            return False
        if self._round_trip is not None and self._round_trip[0] is not connection:
            self._round_trip[1].cancel()  # sent on a connection given up since
            self._round_trip = None
        if self._round_trip is None or self._round_trip[1].done():
            task = asyncio.create_task(_round_trip(connection))
            task.add_done_callback(_retrieve)
            self._round_trip = (connection, task)
        await within("rabbitmq", asyncio.shield(self._round_trip[1]), self.deadline)
        return True


async def _round_trip(connection: AbstractConnection) -> None:
    channel = await connection.channel(publisher_confirms=False)
    await channel.close()


def _retrieve(task: asyncio.Task[None]) -> None:
    """Take a finished round trip's exception (the check that awaited it may have gone)."""
    if not task.cancelled():
        task.exception()
