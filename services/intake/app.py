"""The intake service: every channel in, one durable event store, one relay out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from functools import partial
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.intake.channels import CHANNELS
from services.intake.store import SCHEMA, Submissions, Writer, open_submissions
from services.intake.wire import WIRE
from shared import feed
from shared.db import create_pool, ensure_schema, setup_lock
from shared.feed import Feed
from shared.problems import Problem, problem_response
from shared.relay import EventLog, Relay, translator
from shared.service import background, create_service_app, database_check
from shared.settings import Settings


@contextlib.asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[None]:
    """Open the store, start the group-commit writer and the relay; close them at the end."""
    async with setup_lock(settings, SCHEMA):
        await ensure_schema(settings, SCHEMA)
        submissions = await asyncio.to_thread(open_submissions, settings)
    pool = await create_pool(settings, max_size=2)
    writer = Writer(submissions)
    app.state.writer, app.state.submissions = writer, submissions
    app.state.feed = Feed(pool, EventLog.of(submissions), translator(submissions, WIRE))
    app.state.readiness = {"database": database_check(pool)}
    try:
        async with background(writer.run(), *_relay(settings, submissions)):
            yield
    finally:
        await pool.close()
        submissions.close()


def _relay(settings: Settings, submissions: Submissions) -> list[Coroutine[Any, Any, None]]:
    if not settings.relay:
        return []
    relay = Relay(settings, "intake", EventLog.of(submissions), translator(submissions, WIRE))
    return [relay.run()]


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    problem = Problem(
        503,
        "Penyimpanan sedang tidak dapat dihubungi; pengaduan belum tersimpan. Silakan coba lagi.",
        code="store-unavailable",
        headers={"Retry-After": "5"},
    )
    return problem_response(problem, request.url.path)


def create_app(settings: Settings) -> FastAPI:
    """The intake API under /intake."""
    app = create_service_app(
        service="intake", settings=settings, lifespan=partial(lifespan, settings)
    )
    for channel in CHANNELS:
        app.include_router(channel.router, prefix="/intake")
    app.include_router(feed.router)
    app.add_exception_handler(OperationalError, _store_unavailable)
    app.add_exception_handler(InterfaceError, _store_unavailable)
    return app
