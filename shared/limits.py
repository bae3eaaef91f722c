"""Abuse limits in Redis: fixed one-minute windows per client address and per sender.

Redis holds only what may be lost. When it does not answer within `REDIS_SECONDS` (refused,
reset, or silent), the same limits are counted in this process until a probe finds Redis back
(`shared.outages.watch`): a public service facing strangers neither turns citizens away for a
cache outage (failing closed) nor opens itself to a flood while it lasts (failing open). The
price: with several processes each counts alone, so a sender may get that many times the limit.
While Redis answers, a request waits for it only near a limit (`RateLimiter`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request

from shared.outages import OUTAGES, Unavailable, within
from shared.problems import Problem
from shared.service import client_address
from shared.settings import Settings

WINDOW_SECONDS = 60
REDIS_SECONDS = 0.3
"""How long a request waits for Redis before it counts here instead (well within the 2 s)."""
LOCAL_KEYS = 100_000
"""At most this many counters in this process: beyond, the window starts afresh (bounded memory)."""
SYNC_SECONDS = 0.05
"""How often the counts made here are sent to Redis together (one pipeline)."""


class TooManyRequests(Problem):
    """Over a rate limit: 429 with Retry-After."""

    def __init__(self, retry_after: int, who: str) -> None:
        super().__init__(
            429,
            f"Terlalu banyak permintaan dari {who}; coba lagi dalam {retry_after} detik.",
            code="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass
class _Count:
    """One key's count in this window: the total Redis last gave, and the hits since (being
    sent, or not yet)."""

    shared: int = 0
    sending: int = 0
    unsent: int = 0

    @property
    def total(self) -> int:
        """The count as known here."""
        return self.shared + self.sending + self.unsent


class RateLimiter:
    """Counts hits per key and window; refuses the ones over the limit.

    A hit is counted here at once, and the counts reach Redis in batches (one pipeline every
    `SYNC_SECONDS`, started by a hit, never awaited by one), which answers each with the
    window's total across processes. Only once a key's count here (the last total Redis gave
    plus what was counted since) passes half its limit does a hit wait for Redis to add its
    count and give the exact total: far below the limit no request waits for Redis, near it the
    limit holds across processes as before; in between, several processes may together let
    through a little more than the limit before they learn of each other.
    """

    def __init__(self, settings: Settings, redis: aioredis.Redis) -> None:
        self.settings, self.redis = settings, redis
        self._counts: dict[str, _Count] = {}  # this window's counts, by Redis key
        self._window = 0
        self._synced_at = 0.0
        self._syncing: asyncio.Task[None] | None = None

    async def hit(self, scope: str, key: str, limit: int, who: str) -> None:
        """Count one hit; TooManyRequests when the window already holds `limit` of them."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        if window != self._window or len(self._counts) >= LOCAL_KEYS:
            self._counts = {}  # a new window (or too many keys): start afresh
            self._window = window
        name = self.settings.redis_key("rate", scope, key, str(window))
        count = self._counts.get(name)
        if count is None:
            count = self._counts[name] = _Count()
        count.unsent += 1
        if 2 * count.total > limit and not OUTAGES.is_down("redis"):
            await self._send({name: count})  # near the limit: the exact total, shared
        else:
            self._sync_soon(now)
        if count.total > limit:
            retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
            raise TooManyRequests(retry_after, who)

    def _sync_soon(self, now: float) -> None:
        """Send the counts not sent yet in the background, at most every `SYNC_SECONDS`."""
        if now - self._synced_at < SYNC_SECONDS or OUTAGES.is_down("redis"):
            return
        if self._syncing is not None and not self._syncing.done():
            return
        self._synced_at = now
        unsent = {name: count for name, count in self._counts.items() if count.unsent}
        if unsent:
            self._syncing = asyncio.ensure_future(self._send(unsent))

    async def _send(self, counts: dict[str, _Count]) -> None:
        """Add the counts not sent yet to Redis; each learns its window's total. While Redis is
        away (the outage is logged once), they stay here to be sent later."""
        counts = {name: count for name, count in counts.items() if count.unsent}
        sending = {name: count.unsent for name, count in counts.items()}
        for name, count in counts.items():
            count.unsent, count.sending = 0, count.sending + sending[name]
        try:
            totals = await within("redis", self._incr(sending), REDIS_SECONDS) if counts else []
        except Unavailable:
            for name, count in counts.items():
                count.sending -= sending[name]
                count.unsent += sending[name]
            return
        for (name, count), total in zip(counts.items(), totals, strict=True):
            count.sending -= sending[name]
            # Redis is right, even below what it said before (the key expired, or was dropped);
            # what another send has on its way is counted until its answer.
            count.shared = total - count.sending

    async def _incr(self, sending: dict[str, int]) -> list[int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for name, amount in sending.items():
                pipe.incrby(name, amount)
                pipe.expire(name, WINDOW_SECONDS + 1)
            answers = await pipe.execute()
        return [int(total) for total in answers[::2]]

    async def sender(self, channel: str, sender_hash: str) -> None:
        """The per-sender limit (the key is already a keyed hash, never the number itself)."""
        limit = self.settings.rate_sender_per_minute
        await self.hit(f"sender:{channel}", sender_hash, limit, "pengirim ini")


async def _limit_ip(request: Request) -> None:
    limiter: RateLimiter = request.app.state.limiter
    await limiter.hit(
        "ip", client_address(request), limiter.settings.rate_ip_per_minute, "alamat ini"
    )


PerAddressLimit = Annotated[None, Depends(_limit_ip)]
"""A dependency: the per-address limit of public endpoints."""


async def _limit_reads(request: Request) -> None:
    limiter: RateLimiter = request.app.state.limiter
    limit = limiter.settings.rate_public_reads_per_minute
    await limiter.hit("read", client_address(request), limit, "alamat ini")


PublicReadLimit = Annotated[None, Depends(_limit_reads)]
"""A dependency: the per-address limit of public reads (the rekap and its files, the dashboard,
tracking, Open311). Without it one address looping over them with a few hundred connections
held every database connection, and officers' reads waited past their deadline (503)."""


async def answers(redis: aioredis.Redis) -> bool:
    """Whether Redis answers (the probe that ends its outage, `shared.outages.watch`)."""
    return bool(await redis.ping())
