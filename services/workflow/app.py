"""The workflow service: cases through their SOP, fed by intake, published by its relay."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial

from fastapi import FastAPI

from services.workflow.cases import SCHEMA, open_cases
from services.workflow.inbound import consumer
from services.workflow.wire import WIRE
from shared.db import create_pool, ensure_schema
from shared.messaging import run_consumer
from shared.relay import EventLog, Relay, translator
from shared.service import (
    background,
    create_service_app,
    database_check,
    flag_check,
)
from shared.settings import Settings


@contextlib.asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[None]:
    """Open the store, consume intake's events, relay our own."""
    await ensure_schema(settings, SCHEMA)
    cases = await asyncio.to_thread(open_cases, settings)
    pool = await create_pool(settings, max_size=2)
    consuming = asyncio.Event()
    app.state.cases = cases
    app.state.readiness = {"database": database_check(pool), "consumer": flag_check(consuming)}
    try:
        jobs = [run_consumer(settings, consumer(cases), consuming)]
        if settings.relay:
            jobs.append(
                Relay(settings, "workflow", EventLog.of(cases), translator(cases, WIRE)).run()
            )
        async with background(*jobs):
            yield
    finally:
        await pool.close()
        cases.close()


def create_app(settings: Settings) -> FastAPI:
    """The workflow API under /workflow."""
    return create_service_app(
        service="workflow", settings=settings, lifespan=partial(lifespan, settings)
    )
