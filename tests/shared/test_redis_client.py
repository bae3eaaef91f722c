"""The services' Redis client against a Redis of the test's own that restarts."""

from __future__ import annotations

import asyncio

from shared.redis_client import CONNECTIONS, redis_client
from shared.settings import Settings
from tests.servers import PrivateRedis


async def test_a_restart_of_redis_costs_no_command(
    settings: Settings, private_redis: PrivateRedis
) -> None:
    """Every pooled connection Redis closed when it restarted is used again: each command
    still gets its answer (before, each failed once: 'Connection closed by server')."""
    client = redis_client(settings.model_copy(update={"redis_url": private_redis.url}), 1, 1)
    try:
        await asyncio.gather(*(client.set(f"k{n}", n) for n in range(5)))  # five connections
        private_redis.restart()  # without persistence: the keys are gone
        assert await asyncio.gather(*(client.get(f"k{n}") for n in range(5))) == [None] * 5
        assert await client.ping()
    finally:
        await client.aclose()


async def test_a_burst_of_commands_past_the_pool_waits_its_turn(settings: Settings) -> None:
    """Three hundred commands at once: the library's pool refused two hundred of them at once
    (MaxConnectionsError), which the services took for Redis away (503 for everyone)."""
    client = redis_client(settings, 2, 2)
    key = settings.redis_key("burst")
    try:
        answers = await asyncio.gather(*(client.incr(key) for _ in range(3 * CONNECTIONS)))
        assert sorted(answers) == list(range(1, 3 * CONNECTIONS + 1))
        pool = client.connection_pool
        made = len(pool._available_connections) + len(pool._in_use_connections)
        assert made <= CONNECTIONS
    finally:
        await client.delete(key)
        await client.aclose()
