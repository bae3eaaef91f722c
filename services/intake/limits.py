"""Abuse limits in Redis: fixed one-minute windows per client address and per sender.

Redis holds only what may be lost: when it does not answer, requests pass (and we log it).
"""

from __future__ import annotations

import logging
import time
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request
from redis.exceptions import RedisError

from shared.problems import Problem
from shared.settings import Settings

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


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

    async def hit(self, scope: str, key: str, limit: int, who: str) -> None:
        """Count one hit; TooManyRequests when the window already holds `limit` of them."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        name = self.settings.redis_key("rate", scope, key, str(window))
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, WINDOW_SECONDS + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            log.warning("rate limit not checked, Redis unavailable: %s", error)
            return
        if int(count) > limit:
            retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
            raise TooManyRequests(retry_after, who)

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
