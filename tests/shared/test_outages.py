"""A server known away: a request's call to it is a short probe, not a full deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared import db
from shared.outages import (
    AWAY_SECONDS,
    DEADLINE_SECONDS,
    OUTAGES,
    Busy,
    Outages,
    Unavailable,
    within,
)
from shared.settings import Settings


def test_a_request_waits_the_full_deadline_only_while_no_outage_is_on() -> None:
    outages = Outages()
    assert outages.deadline("rabbitmq") == DEADLINE_SECONDS
    outages.down("rabbitmq", "no answer within 1.5 s")
    assert outages.deadline("rabbitmq") == AWAY_SECONDS
    assert outages.deadline("rabbitmq", 0.2) == 0.2  # a shorter deadline stays
    assert outages.deadline("postgres") == DEADLINE_SECONDS  # only the server away
    outages.up("rabbitmq")
    assert outages.deadline("rabbitmq") == DEADLINE_SECONDS


async def test_a_silent_call_during_an_outage_gives_up_after_the_short_deadline() -> None:
    outages = Outages()
    outages.down("rabbitmq", "frozen")
    silent = asyncio.get_running_loop().create_future()  # a call that never answers
    began = time.monotonic()
    try:
        with pytest.raises(Unavailable):
            await within("rabbitmq", silent, outages.deadline("rabbitmq"))
    finally:
        OUTAGES.up("rabbitmq")  # `within` told this process's outages; other tests share them
    waited = time.monotonic() - began
    assert AWAY_SECONDS <= waited < DEADLINE_SECONDS
    assert silent.cancelled()


async def test_every_connection_taken_by_other_requests_is_busy_not_an_outage(
    settings: Settings,
) -> None:
    """Eighty officers at once on a pool of two: one who waits its deadline for a connection
    hears 503 busy, and no outage is declared (before: "postgres unavailable", and every other
    request answered 503 at once until a read got through)."""
    pool = await db.create_pool(settings, max_size=2)
    try:
        held = [await pool.acquire() for _ in range(2)]
        with pytest.raises(Busy):
            await db.read(pool, lambda conn: conn.fetchval("SELECT 1"), 0.3)
        assert not OUTAGES.is_down("postgres")
        for conn in held:
            await pool.release(conn)
        assert await db.read(pool, lambda conn: conn.fetchval("SELECT 1")) == 1
    finally:
        await pool.close()


async def test_a_deadline_passed_while_the_process_was_busy_is_busy_not_an_outage(
    settings: Settings,
) -> None:
    """The server answered at once, but this process's event loop was held by other work past
    the read's deadline, the answer unread in the socket: that was declared an outage of
    PostgreSQL, and every read then had the short deadline (503 store-unavailable for officers
    during a flood of public reads, the database healthy)."""
    pool = await db.create_pool(settings, max_size=1)
    try:
        assert await db.read(pool, lambda conn: conn.fetchval("SELECT 1")) == 1  # connected

        async def held() -> None:
            await asyncio.sleep(0.05)  # the query sent, its answer on its way
            time.sleep(0.6)  # noqa: ASYNC251 - work held on the event loop (a flood's JSON)

        holding = asyncio.ensure_future(held())
        with pytest.raises(Busy):
            await db.read(pool, lambda conn: conn.fetchval("SELECT pg_sleep(0.1), 1"), 0.3)
        await holding
        assert not OUTAGES.is_down("postgres")
        assert await db.read(pool, lambda conn: conn.fetchval("SELECT 2")) == 2
    finally:
        OUTAGES.up("postgres")
        await pool.close()
