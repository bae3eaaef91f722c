"""The reporting service: read models fed by every event, the rekap, recaps, live operations."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from functools import partial
from importlib import resources

import asyncpg
from fastapi import FastAPI
from redis import exceptions as redis_errors

from services.reporting import (
    api,
    case_search,
    dashboard,
    dashboard_tables,
    dead_letters,
    drilldown,
    open311,
    operations,
    recap_api,
    rekap_files,
    vocabulary,
    worklist,
)
from services.reporting.last_good import LastGood
from services.reporting.operations import LiveStream, run_gauges
from services.reporting.press import press
from services.reporting.read_model import SWAP_LOCK, ReadModel
from services.reporting.reads import COMMAND_TIMEOUT_SECONDS, database_ready
from services.reporting.recaps import SCHEMA as STORE_SCHEMA
from services.reporting.recaps import WIRE, open_recaps, run_schedule
from services.reporting.stream_erasure import erased_cases
from shared import feed
from shared.agencies import Registry
from shared.auth import Revocations, TokenVerifier
from shared.blobs import datastore_of
from shared.broker import BrokerLink
from shared.db import Pool, Replicated, create_pool, create_reads, ensure_schema, setup_lock
from shared.events import Envelope
from shared.feed import Feed, service_credential
from shared.limits import RateLimiter, answers
from shared.messaging import Consumer, run_consumer
from shared.open311 import Open311Error, error_response
from shared.outages import Unavailable, install, watch, within
from shared.receipt_guard import REDIS_SECONDS, ReceiptGuard
from shared.redis_client import redis_client
from shared.relay import EventLog, Relay, translator
from shared.service import background, create_service_app
from shared.settings import Settings
from shared.storepool import keep_fresh

SCHEMA = "reporting"
LIVE_SECONDS = 2.0  # the longest a projected batch waits to go onto the live stream

# An outage of the database: retry in place, never spend the message's deliveries.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,  # a silent database: the pool's command timeout or acquire timeout ran out
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    redis_errors.ConnectionError,  # an erasure waits for Redis: it must reach the live stream
    redis_errors.TimeoutError,
    redis_errors.WatchError,
)


async def create_tables(pool: Pool) -> None:
    """Run schema.sql (idempotent) in the pool's schema."""
    ddl = resources.files("services.reporting").joinpath("schema.sql").read_text()
    async with pool.acquire() as conn:
        await conn.execute(ddl)


def consumer(pool: Pool, model: ReadModel, live: LiveStream, kept: LastGood) -> Consumer:
    """Reporting's consumer: each batch in one transaction, then onto the live stream; an
    erasure in the batch first takes the case's events off the stream, inside the transaction,
    and no tracking copy read before its commit is answered is served again, in any process
    (last_good.py `erasing`, around the transaction and before the connection's release, a round
    trip the database may never answer)."""

    async def handle(envelopes: Sequence[Envelope]) -> None:
        applied: list[Envelope] = []
        erasing = kept.erasing() if erased_cases(envelopes) else contextlib.nullcontext()
        async with pool.acquire() as conn, erasing, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext($1))", SWAP_LOCK)
            applied = await model.apply_batch(conn, envelopes)
            await live.forget(erased_cases(applied))  # before the commit: a failure retries
        with contextlib.suppress(Unavailable):  # best effort: a silent Redis never holds us
            await within("redis", live.append(applied), LIVE_SECONDS)

    return Consumer(service="reporting", handle=handle, transient=TRANSIENT)


@contextlib.asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[None]:
    """Create the read model, consume every event, produce the recaps, watch the system."""
    async with setup_lock(settings, SCHEMA, wait=True):
        await ensure_schema(settings, SCHEMA)
        await ensure_schema(settings, STORE_SCHEMA)
        pool = await create_pool(
            settings, search_path=SCHEMA, command_timeout=COMMAND_TIMEOUT_SECONDS
        )
        await create_tables(pool)
        await dead_letters.create_table(pool)
        recaps = await asyncio.to_thread(open_recaps, settings)
    reads = await create_reads(
        settings, pool, search_path=SCHEMA, command_timeout=COMMAND_TIMEOUT_SECONDS
    )
    live, link, kept = LiveStream(settings), BrokerLink(), LastGood(settings)
    async with pool.acquire() as conn:
        credential = await service_credential(settings, conn)
    guessing = redis_client(settings, REDIS_SECONDS, REDIS_SECONDS)
    app.state.receipt_guard = ReceiptGuard(settings, guessing, credential, "reporting")
    app.state.limiter = RateLimiter(settings, guessing)  # public reads, per address
    app.state.service_credential = credential  # also what reporting presents to workflow
    translate = translator(recaps, WIRE)
    # Requests that only read use `reads` (the replica, if any); every write and what must see
    # the latest write (the live stream's masking, dead letters, the agencies) use `pool`.
    app.state.pool, app.state.reads, app.state.recaps, app.state.live = pool, reads, recaps, live
    app.state.last_good = kept
    app.state.agencies = registry = Registry(settings, pool)
    await registry.all()  # read once: later reads never wait for it (shared/agencies.py)
    revoked = Revocations(settings, guessing)  # every agency's officers, as their accounts stand
    app.state.verifier = TokenVerifier(settings, agencies=registry.all, revocations=revoked)
    app.state.feed = Feed(pool, EventLog.of(recaps), translate)
    # Ready: the read model answers, and the broker delivers. Every event reaches the read model
    # only through the broker: without it the rekap and the live stream fall behind unseen.
    # Redis is left out: only the live stream needs it, and it says so itself.
    app.state.readiness = {"database": partial(database_ready, pool), "consumer": link.check}
    model = ReadModel(settings.timezone)
    press.idle_seconds = settings.press_idle_seconds  # the printing child (press.py)
    jobs = [
        run_consumer(settings, consumer(pool, model, live, kept), link),
        run_schedule(settings, pool, recaps),
        run_gauges(settings, pool),
        watch("redis", partial(answers, guessing)),  # the limits counted here until it is back
        keep_fresh(datastore_of(recaps.recorder), pool),  # no stale connection after a restart
    ]
    if settings.relay:
        jobs.append(Relay(settings, "reporting", EventLog.of(recaps), translate).run())
    if isinstance(reads, Replicated):
        jobs.append(reads.watch())
        app.state.degraded["replica"] = lambda: reads.away
    try:
        async with background(*jobs):
            yield
    finally:
        await guessing.aclose()
        await live.close()
        await kept.close()
        if isinstance(reads, Replicated):
            await reads.close()
        await pool.close()
        recaps.close()


def create_app(settings: Settings) -> FastAPI:
    """The reporting API under /reporting."""
    app = create_service_app(
        service="reporting", settings=settings, lifespan=partial(lifespan, settings)
    )
    install(app, ("postgres", "rabbitmq", "redis"))
    pages = (drilldown, dashboard, dashboard_tables)  # /cases and .svg before the tables' .{fmt}
    files = (worklist, case_search, rekap_files, recap_api)
    for module in (api, *files, *pages, operations, vocabulary):
        app.include_router(module.router, prefix="/reporting")
    app.include_router(feed.router)
    # Open311 has its own prefix at the front door (GET here, POST at intake) and error format.
    app.include_router(open311.router)
    app.add_exception_handler(Open311Error, error_response)
    return app
