"""Fixtures: isolated infrastructure per test, services in-process or as processes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shared.settings import Settings
from tests.infrastructure import (
    ROOMY_WRITE_DEADLINE_SECONDS,
    base_settings,
    create_isolated,
    destroy_isolated,
)
from tests.servers import PrivatePostgres, PrivateRabbitMQ, PrivateRedis, settings_for, started


@pytest.fixture
async def settings(request: pytest.FixtureRequest) -> AsyncIterator[Settings]:
    """Settings pointing at this test's own database, vhost and Redis prefix.

    A store write may take `ROOMY_WRITE_DEADLINE_SECONDS` here, unless the test is marked
    `store_deadline`: the suite's two workers, their browsers and services share two cores and
    one PostgreSQL, and a test that is not about the deadline must not fail when a commit waits
    for a core longer than the product's 1.5 s. The tests that stall the store and time the
    answers are marked, and keep the product's deadline.
    """
    base = base_settings()
    if request.node.get_closest_marker("store_deadline") is None:
        base = base.model_copy(update={"write_deadline_seconds": ROOMY_WRITE_DEADLINE_SECONDS})
    isolated = await create_isolated(base)
    try:
        yield isolated
    finally:
        await destroy_isolated(isolated)


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan in this process and talk to it over ASGI."""
    async with (
        LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://aduan.test"
        ) as client,
    ):
        yield client


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL 15 of this test's own (tests/servers.py): stop, kill or freeze it at will."""
    with started(PrivatePostgres()) as server:
        yield server


@pytest.fixture
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node of this test's own, with its management API."""
    with started(PrivateRabbitMQ()) as server:
        yield server


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A Redis of this test's own."""
    with started(PrivateRedis()) as server:
        yield server


@pytest.fixture
async def private_settings(
    private_postgres: PrivatePostgres,
    private_rabbitmq: PrivateRabbitMQ,
    private_redis: PrivateRedis,
) -> Settings:
    """Settings pointing at this test's private servers (a database, vhost and prefix on them;
    nothing to drop afterwards: the servers go with their directories)."""
    return await create_isolated(settings_for(private_postgres, private_rabbitmq, private_redis))
