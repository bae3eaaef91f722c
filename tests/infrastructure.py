"""Each test gets its own PostgreSQL database, RabbitMQ vhost and Redis key prefix."""

from __future__ import annotations

import json
import random
import socket
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr

from shared.settings import Settings


def free_port() -> int:
    """A TCP port nothing uses right now, below the ephemeral range (so no outgoing
    connection's source port can take it between now and the server binding it)."""
    while True:
        port = random.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


ROOMY_WRITE_DEADLINE_SECONDS = 10.0
"""The write deadline of the tests that are not about it (the `settings` fixture)."""


def base_settings() -> Settings:
    """The machine's servers, with test-sized pools and fast polling."""
    return Settings(
        postgres_pool_size=2,
        relay_poll_seconds=0.2,
        log_level="warning",
        rate_public_reads_per_minute=1_000_000,  # tests read the rekap from one address
    )


async def create_isolated(base: Settings) -> Settings:
    """A fresh database, vhost and key prefix; services create their own schemas in them."""
    name = f"aduan_t_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(base.postgres_dsn("postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    api, auth = base.management_api()
    async with httpx.AsyncClient(base_url=api, auth=auth, timeout=10) as http:
        (await http.put(f"/api/vhosts/{name}")).raise_for_status()
        permissions = {"configure": ".*", "write": ".*", "read": ".*"}
        (await http.put(f"/api/permissions/{name}/{auth[0]}", json=permissions)).raise_for_status()
    amqp = urlsplit(base.rabbitmq_url)._replace(path=f"/{name}")
    return base.model_copy(
        update={"postgres_db": name, "rabbitmq_url": urlunsplit(amqp), "redis_prefix": f"{name}:"}
    )


async def destroy_isolated(settings: Settings) -> None:
    """Drop what create_isolated made."""
    admin = await asyncpg.connect(settings.postgres_dsn("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{settings.postgres_db}" WITH (FORCE)')
    finally:
        await admin.close()
    api, auth = settings.management_api()
    async with httpx.AsyncClient(base_url=api, auth=auth, timeout=10) as http:
        await http.delete(f"/api/vhosts/{settings.rabbitmq_vhost()}")
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{settings.redis_prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def environment(settings: Settings) -> dict[str, str]:
    """The ADUAN_* variables that make a child process use these settings."""
    env = {}
    for name, value in settings.model_dump(mode="json").items():
        raw = getattr(settings, name)
        if isinstance(raw, SecretStr):
            value = raw.get_secret_value()
        env[f"ADUAN_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env
