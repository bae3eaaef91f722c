"""The abuse limits when Redis is away: counted in this process, neither open nor closed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from functools import partial

import pytest
import redis.asyncio as aioredis

from shared.limits import REDIS_SECONDS, WINDOW_SECONDS, RateLimiter, TooManyRequests
from shared.outages import OUTAGES
from shared.settings import Settings
from tests.infrastructure import free_port
from tests.polling import eventually
from tests.tcp_proxy import TcpProxy


@pytest.fixture
def redis_state() -> Iterator[None]:
    yield
    OUTAGES.up("redis")  # what the service's watch would do once Redis answers


@pytest.mark.parametrize("fault", ["refused", "frozen"])
async def test_without_redis_the_limit_is_counted_here_and_answers_at_once(
    settings: Settings, redis_state: None, fault: str
) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    port = free_port() if fault == "refused" else proxy.port  # nothing listens on a free port
    if fault == "frozen":
        proxy.freeze()
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=5)
    limiter = RateLimiter(settings, client)
    into_window = time.time() % WINDOW_SECONDS
    if into_window > WINDOW_SECONDS - (REDIS_SECONDS + 2):  # the hits must share one window
        await asyncio.sleep(WINDOW_SECONDS - into_window)
    try:
        started = time.monotonic()
        for _ in range(3):
            await limiter.hit("ip", "198.51.100.7", 3, "alamat ini")
        with pytest.raises(TooManyRequests):
            await limiter.hit("ip", "198.51.100.7", 3, "alamat ini")
        await limiter.hit("ip", "198.51.100.8", 3, "alamat ini")  # another address: its own
        assert time.monotonic() - started < REDIS_SECONDS + 1  # one deadline, then no waiting
        assert OUTAGES.is_down("redis")
    finally:
        await client.aclose()
        proxy.thaw()
        await proxy.stop()


async def test_with_redis_the_limit_is_shared(settings: Settings, redis_state: None) -> None:
    client = aioredis.Redis.from_url(settings.redis_url)
    first, second = RateLimiter(settings, client), RateLimiter(settings, client)
    try:
        for limiter in (first, second, first):
            await limiter.hit("ip", "198.51.100.9", 3, "alamat ini")
        with pytest.raises(TooManyRequests):
            await second.hit("ip", "198.51.100.9", 3, "alamat ini")
    finally:
        await client.aclose()


async def test_far_below_the_limit_a_hit_does_not_wait_for_redis_and_its_count_reaches_it(
    settings: Settings, redis_state: None
) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{proxy.port}/0", socket_timeout=5)
    limiter = RateLimiter(settings, client)
    window = int(time.time() // WINDOW_SECONDS)
    name = settings.redis_key("rate", "ip", "198.51.100.10", str(window))

    async def in_redis(expected: int) -> bool:
        value = await client.get(name)
        return value is not None and int(value) == expected

    try:
        await limiter.hit("ip", "198.51.100.10", 100, "alamat ini")
        assert await eventually(partial(in_redis, 1), within=5)  # sent in the background
        proxy.freeze()
        started = time.monotonic()
        for _ in range(9):
            await limiter.hit("ip", "198.51.100.10", 100, "alamat ini")
        assert time.monotonic() - started < REDIS_SECONDS / 3  # none waited for Redis
        proxy.thaw()
        OUTAGES.up("redis")  # a send the freeze held may have noticed it: Redis is back

        async def counted() -> bool:
            await limiter.hit("ip", "198.51.100.11", 100, "alamat ini")  # a hit sends them
            return await in_redis(10)

        assert await eventually(counted, within=5)
    finally:
        await client.aclose()
        proxy.thaw()
        await proxy.stop()
