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
    library's default). At most `CONNECTIONS` at once; a command past them waits its turn for
    up to `seconds`."""
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=CONNECTIONS,
        timeout=seconds,
        socket_timeout=seconds,
        socket_connect_timeout=connect_seconds,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return aioredis.Redis(connection_pool=pool)


CONNECTIONS = 100
"""Connections to Redis one client holds at most. The library's own pool refuses a command past
its hundred at once (MaxConnectionsError): a burst of strangers' requests made Redis look away,
and every request that needs it answered 503 for a moment."""
