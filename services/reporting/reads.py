"""Reading the read model under a deadline: an answer within the 2 s promise, or 503.

`read` runs a request's queries on one pooled connection as a task and waits for it at most
`seconds`. A store that refuses or resets answers at once (Unavailable); a silent one runs past
the deadline: the request answers 503 then, and the abandoned task is cancelled and left to end
in the background (asyncpg cancels the query and terminates the connection within the pool's
command timeout), so no request waits for that clean-up. `in_thread` does the same for the
eventsourcing store (psycopg, in a thread that cannot be cancelled): while an outage of the
database is on, it answers 503 without starting a thread that a silent server would hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from shared.db import Connection, Pool
from shared.outages import DEADLINE_SECONDS, OUTAGES, Unavailable, within

T = TypeVar("T")

COMMAND_TIMEOUT_SECONDS = 30.0
"""The longest one statement of reporting's pool may run (the consumer's, the gauges'): a
silent server is given up on by then, and the abandoned reads of requests end by then too."""
PROBE_SECONDS = 0.5
"""A read's deadline while an outage is on: a server back answers a read in milliseconds."""


async def read(
    pool: Pool, work: Callable[[Connection], Awaitable[T]], seconds: float = DEADLINE_SECONDS
) -> T:
    """`work(conn)` on a pooled connection, or Unavailable within `seconds` (within
    `PROBE_SECONDS` while an outage of the database is on: the read is then a probe)."""
    if OUTAGES.is_down("postgres"):
        seconds = min(seconds, PROBE_SECONDS)

    async def run() -> T:
        async with pool.acquire(timeout=seconds) as conn:
            return await work(conn)

    task = asyncio.ensure_future(run())
    task.add_done_callback(_settled)
    try:
        return await within("postgres", asyncio.shield(task), seconds)
    except BaseException:
        task.cancel()  # ends in the background; nobody waits for it
        raise


async def fetch(pool: Pool, query: Callable[..., Awaitable[T]], /, **arguments: Any) -> T:
    """One query function of services.reporting.queries (`query(conn, **arguments)`), read."""
    return await read(pool, lambda conn: query(conn, **arguments))


async def in_thread(call: Callable[[], T], seconds: float = DEADLINE_SECONDS) -> T:
    """A blocking call on the eventsourcing store, in a thread, under a deadline."""
    if OUTAGES.is_down("postgres"):
        raise Unavailable("postgres")
    return await within("postgres", asyncio.to_thread(call), seconds)


def _settled(task: asyncio.Future[Any]) -> None:
    """Collect an abandoned read's outcome, so that it is never logged as unretrieved."""
    if not task.cancelled():
        task.exception()


async def database_ready(pool: Pool) -> bool:
    """Readiness: the read model answers a trivial query within a second."""
    try:
        return bool(await read(pool, lambda conn: conn.fetchval("SELECT true"), 1.0))
    except Unavailable:
        return False
