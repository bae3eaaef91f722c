"""Fixtures: isolated infrastructure per test, services in-process or as processes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shared.settings import Settings
from tests.infrastructure import base_settings, create_isolated, destroy_isolated


@pytest.fixture
async def settings() -> AsyncIterator[Settings]:
    """Settings pointing at this test's own database, vhost and Redis prefix."""
    isolated = await create_isolated(base_settings())
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
