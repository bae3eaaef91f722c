"""Reading the read model under a deadline: an answer within the 2 s promise, or 503.

Every request's queries go through `shared.db.read` (here `fetch` for one query function).
`in_thread` does the same for the eventsourcing store (psycopg, in a thread that cannot be
cancelled): while an outage of the database is on, it answers 503 without starting a thread
that a silent server would hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from shared.db import Pool, read
from shared.outages import DEADLINE_SECONDS, OUTAGES, Unavailable, within

T = TypeVar("T")

COMMAND_TIMEOUT_SECONDS = 30.0
"""The longest one statement of reporting's pool may run (the consumer's, the gauges'): a
silent server is given up on by then, and the abandoned reads of requests end by then too."""


async def fetch(pool: Pool, query: Callable[..., Awaitable[T]], /, **arguments: Any) -> T:
    """One query function of services.reporting.queries (`query(conn, **arguments)`), read."""
    return await read(pool, lambda conn: query(conn, **arguments))


async def in_thread(call: Callable[[], T], seconds: float = DEADLINE_SECONDS) -> T:
    """A blocking call on the eventsourcing store, in a thread, under a deadline."""
    if OUTAGES.is_down("postgres"):
        raise Unavailable("postgres")
    return await within("postgres", asyncio.to_thread(call), seconds)


async def database_ready(pool: Pool) -> bool:
    """Readiness: the read model answers a trivial query within a second."""
    try:
        return bool(await read(pool, lambda conn: conn.fetchval("SELECT true"), 1.0))
    except Unavailable:
        return False
