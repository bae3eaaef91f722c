"""The workflow service: cases through their SOP, fed by intake, published by its relay."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial

from fastapi import FastAPI

from services.workflow import (
    accounts,
    accounts_api,
    agencies_api,
    auth_api,
    backlog,
    oidc,
    public_texts,
)
from services.workflow.api import refused, router
from services.workflow.cases import SCHEMA, Cases, open_cases
from services.workflow.inbound import consumer
from services.workflow.issuer import Issuer
from services.workflow.scanner import run_scanner
from services.workflow.wire import wire
from shared import agencies, feed
from shared.auth import REDIS_SECONDS, Revocations, TokenVerifier
from shared.blobs import datastore_of
from shared.broker import BrokerLink
from shared.db import connect, create_pool, ensure_schema, setup_lock
from shared.feed import Feed
from shared.messaging import run_consumer
from shared.outages import install
from shared.redis_client import redis_client
from shared.refusals import Refused
from shared.relay import EventLog, Relay, translator
from shared.service import background, create_service_app, database_check
from shared.settings import Settings
from shared.storepool import keep_fresh


def _verifier(
    settings: Settings, issuer: Issuer, cases: Cases, revocations: Revocations
) -> TokenVerifier:
    """An external issuer when configured; otherwise our own key, without a round trip. The
    officers of every agency the deployment serves are let in, as their accounts stand."""
    known = cases.known_agencies
    if settings.auth_jwks_url or settings.auth_public_keys:
        return TokenVerifier(settings, agencies=known, revocations=revocations)
    keys = issuer.public_keys()
    return TokenVerifier(settings, keys=keys, agencies=known, revocations=revocations)


@contextlib.asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[None]:
    """Open the store, consume intake's events, run the clock, relay our own events."""
    async with setup_lock(settings, SCHEMA, wait=True):
        await ensure_schema(settings, SCHEMA)
        cases = await asyncio.to_thread(open_cases, settings)
        issuer = await Issuer.load(settings)
        await accounts.ensure_table(settings)
        conn = await connect(settings)
        try:
            await agencies.ensure_table(conn)  # the agencies the deployment serves
        finally:
            await conn.close()
        await asyncio.to_thread(cases.agencies)  # read once: later reads never wait for it
    pool = await create_pool(settings, max_size=3)
    link = BrokerLink()
    app.state.cases, app.state.issuer, app.state.pool = cases, issuer, pool
    redis = redis_client(settings, REDIS_SECONDS, REDIS_SECONDS)
    app.state.revocations = revocations = Revocations(settings, redis)
    app.state.verifier = _verifier(settings, issuer, cases, revocations)
    app.state.oidc = oidc.Provider(settings, agencies=cases.known_agencies)
    app.state.feed = Feed(pool, EventLog.of(cases), translator(cases, wire(cases)))
    # Not the consumer: no endpoint needs the broker, and the consumer (like the relay)
    # catches up by itself when the broker is back; taking workflow out of service while the
    # broker is away would stop officers' work for nothing.
    app.state.readiness = {"database": database_check(pool), "writer": cases.guard.check}
    jobs = [run_consumer(settings, consumer(cases), link), cases.blobs.run_sweeper()]
    # no stale connection, nor a case or key kept from before, after a restart
    jobs.append(keep_fresh(datastore_of(cases.recorder), pool, cases.forget_all))
    if settings.clock:
        jobs.append(run_scanner(settings, cases))
    if settings.relay:
        jobs.append(
            Relay(settings, "workflow", EventLog.of(cases), translator(cases, wire(cases))).run()
        )
    try:
        async with background(*jobs):
            yield
    finally:
        await pool.close()
        await redis.aclose()
        cases.close()


def create_app(settings: Settings) -> FastAPI:
    """The workflow API under /workflow."""
    app = create_service_app(
        service="workflow", settings=settings, lifespan=partial(lifespan, settings)
    )
    app.include_router(router, prefix="/workflow")
    app.include_router(backlog.router, prefix="/workflow")
    app.add_exception_handler(Refused, refused)
    app.include_router(auth_api.router, prefix="/workflow")
    app.include_router(accounts_api.router, prefix="/workflow")
    app.include_router(agencies_api.router, prefix="/workflow")
    app.include_router(feed.router)
    app.include_router(public_texts.router)
    install(app, ("postgres",))
    return app
