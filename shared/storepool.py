"""The eventsourcing library's PostgreSQL pool, made to notice at once a server that is away.

As the library builds it, a call on a stopped server takes about 52 s (ten attempts, each
waiting up to the connect timeout for a pooled connection), and on a silent one (frozen: the
kernel still acknowledges, nothing answers) forever: psycopg waits on its socket without a
timeout, the pool's pre-ping included. `harden` changes the pool before it opens:

- one attempt per call (`ONCE`): the service answers 503 and the caller tries again later;
- a pooled connection is waited for at most the request deadline, a new one is given up
  after `connect_timeout` (psycopg's floor is 2 s);
- TCP keepalives and `tcp_user_timeout` drop connections across a dead link or host;
- every wait on the server is given up after `no_answer_seconds` (no statement legitimately
  waits longer than the lock and statement timeouts the writes set), closing the connection:
  a thread blocked on a frozen server comes back, and the pool replaces the connection;
- a lost connection is retried for a few seconds only; after that the pool grows again when
  a caller asks, so it reconnects at once when the server is back (the library's exponential
  backoff would wait up to a minute after a long outage).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

import asyncpg
import psycopg
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from psycopg import errors
from psycopg.abc import PQGen
from psycopg.rows import DictRow

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 5.0
"""How long the pool retries a lost connection on its own before waiting for a caller."""


class AnsweringConnection(psycopg.Connection[DictRow]):
    """A connection that gives up (and closes) when the server does not answer in time."""

    no_answer_seconds = 10.0

    def wait(self, gen: PQGen[Any], interval: float = 0.1, timeout: float | None = None) -> Any:
        """psycopg's wait on the server, given up after `no_answer_seconds`."""
        try:
            return super().wait(gen, interval, timeout or self.no_answer_seconds)
        except errors._WaitTimeout:
            self.close()  # the exchange cannot go on: the pool discards the connection
            raise psycopg.OperationalError(
                f"no answer from the server within {self.no_answer_seconds:g} s"
            ) from None


def harden(
    datastore: PostgresDatastore,
    *,
    wait_seconds: float,
    no_answer_seconds: float,
    connect_seconds: int = 2,
) -> None:
    """Make the datastore's pool (not opened yet) notice a server that is away."""
    pool = datastore.pool
    pool.connection_class = type(
        "AnsweringConnection", (AnsweringConnection,), {"no_answer_seconds": no_answer_seconds}
    )
    assert isinstance(pool.kwargs, dict)
    pool.kwargs |= {
        "connect_timeout": connect_seconds,
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
        "tcp_user_timeout": math.ceil(no_answer_seconds * 1000),
    }
    pool.timeout = wait_seconds
    pool.reconnect_timeout = RECONNECT_SECONDS


class Once(PostgresApplicationRecorder):
    """The application recorder's calls without the library's ten attempts: one each."""

    insert_events = PostgresApplicationRecorder.insert_events.__wrapped__
    select_events = PostgresAggregateRecorder.select_events.__wrapped__
    select_notifications = PostgresApplicationRecorder.select_notifications.__wrapped__
    max_notification_id = PostgresApplicationRecorder.max_notification_id.__wrapped__


FRESH_SECONDS = 1.0
"""How often `keep_fresh` asks the server when it started."""
ASK_SECONDS = 2.0
"""How long it waits for that answer (a connection of the pool included)."""


async def keep_fresh(
    datastore: PostgresDatastore, pool: asyncpg.Pool, restarted: Callable[[], None] = lambda: None
) -> None:
    """Ask the server every `FRESH_SECONDS` when it started (on the service's own asyncpg
    `pool`); when that changes (a restart, a failover), drain the event store's pool: the
    connections made before are replaced at once, not found broken one at a time. The pool's
    pre-ping did that, sleeping a second, then two, between checks, and the first write after
    a quiet restart ran out its deadline (503) with the server up and readiness true.
    `restarted` is called then too (what the service kept of the store may be lost). Runs
    until cancelled."""
    started: object = None
    while True:  # asked at once first: the pool's connections are from its start
        try:
            now = await asyncio.wait_for(
                pool.fetchval("SELECT pg_postmaster_start_time()"), ASK_SECONDS
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass  # away, or a connection from before the restart (the pool drops it)
        else:
            if started is not None and now != started:
                await asyncio.get_running_loop().run_in_executor(None, datastore.pool.drain)
                restarted()
                log.info("PostgreSQL restarted: the store's connections from before replaced")
            started = now
        await asyncio.sleep(FRESH_SECONDS)
