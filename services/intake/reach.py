"""Intake and its store: a breaker in front of every store call, and the probe that closes it.

Once the store is known away (a call refused or reset, a read or a write past its deadline),
whatever needs it answers 503 at once (`OUTAGES.check`) instead of each request waiting out a
deadline of its own; `StoreProbe` is run by `shared.outages.watch` and ends the outage when a
read and a write could get through again. Readiness is the same probe, within its own deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.db import Pool
from shared.outages import OUTAGES, Server, within
from shared.writes import PROBE_SECONDS, WriteGuard, WriterBehind, WriteTimedOut

T = TypeVar("T")

STORE: Server = "postgres"


def store_up() -> None:
    """503 at once while the store is known away (a dependency of the routes that need it)."""
    OUTAGES.check(STORE)


async def store_call(call: Callable[..., T], *args: Any) -> T:
    """A blocking store call (run in a thread) under the breaker and the deadline. Only for
    reads and idempotent statements: one past its deadline may still finish after the 503."""
    OUTAGES.check(STORE)
    return await within(STORE, asyncio.to_thread(call, *args))


async def store_write(write: Callable[[], Awaitable[T]]) -> T:
    """A write under the write guard, behind the breaker; one that overran opens it."""
    OUTAGES.check(STORE)
    try:
        return await write()
    except WriterBehind:
        raise  # a busy writer, not the store away: the others keep going
    except WriteTimedOut:
        OUTAGES.down(STORE, "a write overran its deadline")
        raise


@dataclass(frozen=True)
class StoreProbe:
    """Can intake use its store now: a read answers, and writes get through."""

    pool: Pool
    guard: WriteGuard
    write_probe: Callable[[], None]  # blocking: can a commit take its locks now

    async def reachable(self) -> bool:
        """A read answers (cancellable, no thread left hanging) and the write guard is healthy
        (or its own probe gets through)."""
        async with self.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return await self.guard.check()

    async def back(self) -> bool:
        """For `watch`: reachable, and a write could get through on the writer's own pool now
        (an outage another call noticed may have left that pool reconnecting)."""
        if not await self.reachable():
            return False
        await asyncio.to_thread(self.write_probe)
        return True

    async def ready(self) -> bool:
        """Readiness: no outage on, and the store reachable within the deadline (else an outage
        starts)."""
        if OUTAGES.is_down(STORE):
            return False
        return await within(STORE, self.reachable(), PROBE_SECONDS)
