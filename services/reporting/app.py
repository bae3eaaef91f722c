"""The reporting service: read models fed by every event, the rekap, public tracking."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from functools import partial
from importlib import resources

import asyncpg
from fastapi import FastAPI

from services.reporting.api import router
from services.reporting.read_model import ReadModel
from shared.db import Pool, create_pool, ensure_schema, setup_lock
from shared.events import Envelope
from shared.messaging import Consumer, run_consumer
from shared.service import (
    background,
    create_service_app,
    database_check,
    flag_check,
)
from shared.settings import Settings

SCHEMA = "reporting"

# An outage of the database: retry in place, never spend the message's deliveries.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
)


async def create_tables(pool: Pool) -> None:
    """Run schema.sql (idempotent) in the pool's schema."""
    ddl = resources.files("services.reporting").joinpath("schema.sql").read_text()
    async with pool.acquire() as conn:
        await conn.execute(ddl)


def consumer(pool: Pool, model: ReadModel) -> Consumer:
    """Reporting's consumer: each batch in one transaction."""

    async def handle(envelopes: Sequence[Envelope]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            for envelope in envelopes:
                await model.apply(conn, envelope)

    return Consumer(service="reporting", handle=handle, transient=TRANSIENT)


@contextlib.asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[None]:
    """Create the read model, consume every event, answer queries."""
    async with setup_lock(settings, SCHEMA):
        await ensure_schema(settings, SCHEMA)
        pool = await create_pool(settings, search_path=SCHEMA)
        await create_tables(pool)
    consuming = asyncio.Event()
    app.state.pool = pool
    app.state.readiness = {"database": database_check(pool), "consumer": flag_check(consuming)}
    model = ReadModel(settings.timezone)
    try:
        async with background(run_consumer(settings, consumer(pool, model), consuming)):
            yield
    finally:
        await pool.close()


def create_app(settings: Settings) -> FastAPI:
    """The reporting API under /reporting."""
    app = create_service_app(
        service="reporting", settings=settings, lifespan=partial(lifespan, settings)
    )
    app.include_router(router, prefix="/reporting")
    return app
