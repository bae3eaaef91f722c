"""Abuse limits in Redis: fixed one-minute windows per client address and per sender.

Redis holds only what may be lost. When it does not answer within `REDIS_SECONDS` (refused,
reset, or silent), the same limits are counted in this process until a probe finds Redis back
(`shared.outages.watch`): a public intake facing strangers neither turns citizens away for a
cache outage (failing closed) nor opens itself to a flood while it lasts (failing open). The
price: with several processes each counts alone, so a sender may get that many times the limit.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request

from shared.outages import OUTAGES, Unavailable, within
from shared.problems import Problem
from shared.settings import Settings

WINDOW_SECONDS = 60
REDIS_SECONDS = 0.3
"""How long a request waits for Redis before it counts here instead (well within the 2 s)."""
LOCAL_KEYS = 100_000
"""At most this many counters in this process: beyond, the window starts afresh (bounded memory)."""


class TooManyRequests(Problem):
    """Over a rate limit: 429 with Retry-After."""

    def __init__(self, retry_after: int, who: str) -> None:
        super().__init__(
            429,
            f"Terlalu banyak permintaan dari {who}; coba lagi dalam {retry_after} detik.",
            code="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )


class RateLimiter:
    """Counts hits per key and window; refuses the ones over the limit."""

    def __init__(self, settings: Settings, redis: aioredis.Redis) -> None:
        self.settings, self.redis = settings, redis
        self._local: Counter[str] = Counter()  # while Redis is away: this window's counts
        self._local_window = 0

    async def hit(self, scope: str, key: str, limit: int, who: str) -> None:
        """Count one hit; TooManyRequests when the window already holds `limit` of them."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        name = self.settings.redis_key("rate", scope, key, str(window))
        count = await self._count_shared(name) if not OUTAGES.is_down("redis") else None
        if count is None:
            count = self._count_here(name, window)
        if count > limit:
            retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
            raise TooManyRequests(retry_after, who)

    async def _count_shared(self, name: str) -> int | None:
        """The window's count in Redis; None when Redis is away (the outage is logged once)."""
        try:
            return await within("redis", self._incr(name), REDIS_SECONDS)
        except Unavailable:
            return None

    async def _incr(self, name: str) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, WINDOW_SECONDS + 1)
            count, _ = await pipe.execute()
        return int(count)

    def _count_here(self, name: str, window: int) -> int:
        if window != self._local_window or len(self._local) >= LOCAL_KEYS:
            self._local.clear()
            self._local_window = window
        self._local[name] += 1
        return self._local[name]

    async def sender(self, channel: str, sender_hash: str) -> None:
        """The per-sender limit (the key is already a keyed hash, never the number itself)."""
        limit = self.settings.rate_sender_per_minute
        await self.hit(f"sender:{channel}", sender_hash, limit, "pengirim ini")


async def _limit_ip(request: Request) -> None:
    limiter: RateLimiter = request.app.state.limiter
    address = request.client.host if request.client else "unknown"
    await limiter.hit("ip", address, limiter.settings.rate_ip_per_minute, "alamat ini")


PerAddressLimit = Annotated[None, Depends(_limit_ip)]
"""A dependency: the per-address limit of public endpoints."""
