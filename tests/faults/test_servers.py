"""The private servers of tests/servers.py do what the fault tests rely on: a frozen server
answers nothing and resets nothing, a thawed one answers again on the same connection, a
stopped one refuses, and a restart keeps the data and the port."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import aio_pika
import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from shared.settings import Settings
from tests.servers import PrivatePostgres, PrivateRabbitMQ, PrivateRedis, PrivateServer, accepts

pytestmark = pytest.mark.fault


async def silent_for(call: object, seconds: float) -> bool:
    """Whether the awaitable neither answers nor fails within `seconds`."""
    try:
        await asyncio.wait_for(call, timeout=seconds)  # type: ignore[arg-type]
    except TimeoutError:
        return True
    return False


async def test_postgres_freezes_thaws_stops_and_keeps_its_data(
    private_postgres: PrivatePostgres,
) -> None:
    server = private_postgres
    print(f"postgres started in {server.start_seconds:.2f} s")
    conn = await asyncpg.connect(server.dsn)
    await conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
    server.freeze()
    try:
        assert await silent_for(conn.fetchval("SELECT 1"), 1.0)
        assert await silent_for(asyncpg.connect(server.dsn), 1.0)  # the postmaster too
    finally:
        server.thaw()
    conn.terminate()
    conn = await asyncpg.connect(server.dsn)
    assert await conn.fetchval("SELECT n FROM kept") == 7
    await asyncio.to_thread(server.stop)
    assert not accepts(server.port)
    with pytest.raises((asyncpg.InterfaceError, ConnectionError)):  # dropped, not hung
        await conn.fetchval("SELECT 1")
    await asyncio.to_thread(server.start)
    conn = await asyncpg.connect(server.dsn)
    assert await conn.fetchval("SELECT n FROM kept") == 7
    await conn.close()
    server.kill()
    assert not accepts(server.port)


async def test_a_rabbitmq_node_of_its_own_freezes_and_restarts(
    private_rabbitmq: PrivateRabbitMQ,
) -> None:
    server = private_rabbitmq
    print(f"rabbitmq started in {server.start_seconds:.2f} s")
    settings = Settings(rabbitmq_management_url=server.management_url)
    api, auth = settings.management_api()
    async with httpx.AsyncClient(base_url=api, auth=auth, timeout=5) as http:
        overview = (await http.get("/api/overview")).json()
        assert overview["node"] == server.node
    connection = await aio_pika.connect(server.url, timeout=5)
    channel = await connection.channel()
    queue = await channel.declare_queue("kept", durable=True)
    message = aio_pika.Message(b"x", delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
    await channel.default_exchange.publish(message, routing_key="kept")
    server.freeze()
    try:
        assert await silent_for(queue.declare(), 1.0)
        assert accepts(4369)  # the machine's epmd is not frozen
    finally:
        server.thaw()
    await connection.close()
    began = time.monotonic()
    await asyncio.to_thread(server.restart)
    print(f"rabbitmq restarted in {time.monotonic() - began:.2f} s")
    connection = await aio_pika.connect(server.url, timeout=5)
    channel = await connection.channel()
    queue = await channel.declare_queue("kept", durable=True)
    assert queue.declaration_result.message_count == 1
    await connection.close()


async def test_redis_freezes_and_thaws(private_redis: PrivateRedis) -> None:
    print(f"redis started in {private_redis.start_seconds:.2f} s")
    client = aioredis.Redis.from_url(private_redis.url)
    try:
        assert await client.ping()
        private_redis.freeze()
        try:
            assert await silent_for(client.ping(), 1.0)
        finally:
            private_redis.thaw()
        assert await client.ping()
    finally:
        await client.aclose()


async def test_private_settings_point_at_the_private_servers(
    private_settings: Settings, private_postgres: PrivatePostgres
) -> None:
    assert private_settings.postgres_port == private_postgres.port
    conn = await asyncpg.connect(private_settings.postgres_dsn())
    try:
        assert await conn.fetchval("SELECT current_database()") == private_settings.postgres_db
    finally:
        await conn.close()


def _take_port(server: PrivateServer, port: int) -> None:
    server.port = port


def _take_management_port(server: PrivateServer, port: int) -> None:
    assert isinstance(server, PrivateRabbitMQ)
    server.management_port = port
    server.configure()


@pytest.mark.parametrize(
    ("kind", "take"),
    [(PrivateRedis, _take_port), (PrivateRabbitMQ, _take_management_port)],
    ids=["redis", "rabbitmq-management"],
)
def test_a_port_taken_before_the_first_start_is_chosen_again(
    kind: Callable[[], PrivateServer], take: Callable[[PrivateServer, int], None]
) -> None:
    with socket.socket() as holder:  # what took the port between free_port and the start
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        server = kind()
        take(server, taken)
        try:
            server.start()
            assert server.started
            assert taken not in {server.port, getattr(server, "management_port", None)}
            assert accepts(server.port)
        finally:
            server.remove()
