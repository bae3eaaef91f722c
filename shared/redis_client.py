"""The services' Redis clients, made one way.

redis-py sends a command on a pooled connection without checking it first; after Redis restarts,
each connection it had fails its next command ("Connection closed by server"), so a restart cost
a request per connection, declared a false outage, and let a token mark go unread. A client made
here sends such a command once more on a new connection (at once: a refused or silent Redis is
not waited on twice).
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.settings import Settings


def redis_client(
    settings: Settings, seconds: float, connect_seconds: float | None = None
) -> aioredis.Redis:
    """A client whose commands give up after `seconds` (connecting: `connect_seconds`, else the
    library's default)."""
    return aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=seconds,
        socket_connect_timeout=connect_seconds,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
