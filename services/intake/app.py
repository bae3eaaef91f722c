"""The intake service: every channel in, one durable event store, one relay out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from functools import partial
from typing import Any

import httpx
from fastapi import Depends, FastAPI

from services.intake import (
    agency_pages,
    complainant,
    deliveries,
    excerpts,
    lookup,
    personal,
    survey,
)
from services.intake.agencies import Agencies
from services.intake.api import REFUSALS
from services.intake.channels import CHANNELS, open311
from services.intake.channels.email import Mailbox
from services.intake.inbound import consumer
from services.intake.inbox import Inbox
from services.intake.outbound.dispatcher import Dispatcher
from services.intake.outbound.senders import configured_senders
from services.intake.pseudonyms import Pseudonyms
from services.intake.reach import STORE, StoreProbe, store_up
from services.intake.store import SCHEMA, Submissions, open_submissions
from services.intake.wire import WIRE
from services.intake.writer import Writer
from shared import feed
from shared.auth import Revocations, TokenVerifier
from shared.blobs import BlobStore
from shared.broker import BrokerLink
from shared.db import create_pool, ensure_schema, setup_lock
from shared.feed import Feed
from shared.limits import REDIS_SECONDS, RateLimiter, answers
from shared.messaging import run_consumer
from shared.open311 import Open311Error, error_response
from shared.outages import OUTAGES, install, watch
from shared.problems import refusal_handler
from shared.receipt_guard import ReceiptGuard
from shared.redis_client import redis_client
from shared.refusals import Refused
from shared.relay import EventLog, Relay, translator
from shared.service import background, create_service_app
from shared.settings import Settings
from shared.storepool import keep_fresh
from shared.writes import WriteGuard


@contextlib.asynccontextmanager
async def lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[None]:
    """Open the store; run the writer, the deliveries, the mailbox, the consumer, the relay."""
    async with setup_lock(settings, SCHEMA, wait=True):
        await ensure_schema(settings, SCHEMA)
        submissions = await asyncio.to_thread(open_submissions, settings)
        pseudonyms = await Pseudonyms.load(settings)
    pool = await create_pool(settings, max_size=2)
    OUTAGES.up(STORE)  # it answered: no outage left over from before (in this process)
    redis = redis_client(settings, REDIS_SECONDS, REDIS_SECONDS)
    http = httpx.AsyncClient(timeout=15)
    guard = WriteGuard(settings.write_deadline_seconds, submissions.probe)
    writer, blobs = Writer(submissions, guard), BlobStore(submissions.datastore, guard)
    senders = configured_senders(settings, http)
    agencies = Agencies.of(settings, pool)
    await agencies.all()  # read once: later reads never wait for it (shared/agencies.py)
    dispatcher = Dispatcher(settings, submissions, pool, senders, pseudonyms, agencies)
    inbox = Inbox(
        settings, writer, submissions, pseudonyms, blobs, agencies, committed=dispatcher.wake
    )
    limiter = RateLimiter(settings, redis)
    async with pool.acquire() as conn:
        credential = await feed.service_credential(settings, conn)
    app.state.receipt_guard = ReceiptGuard(settings, redis, credential, "intake")
    inbox.receipt_key = app.state.receipt_guard.key
    app.state.writer, app.state.submissions, app.state.inbox = writer, submissions, inbox
    app.state.limiter, app.state.dispatcher = limiter, dispatcher
    revoked = Revocations(settings, redis)  # every agency's officers, as their accounts stand
    app.state.verifier = TokenVerifier(settings, agencies=agencies.all, revocations=revoked)
    app.state.feed = Feed(pool, EventLog.of(submissions), translator(submissions, WIRE))
    probe = StoreProbe(pool, guard, submissions.probe)
    # Only the store: without Redis the limits are counted here, without RabbitMQ the relay's
    # outbox waits; intake keeps accepting either way.
    app.state.readiness = {"store": probe.ready}
    jobs = [writer.run(), dispatcher.run(), blobs.run_sweeper(), watch(STORE, probe.back)]
    jobs.append(lookup.run_indexing(inbox))  # submissions stored before the search index
    jobs.append(keep_fresh(submissions.datastore, pool))  # no stale connection after a restart
    jobs.append(watch("redis", partial(answers, redis)))
    jobs.extend(_consuming(settings, inbox, dispatcher))
    if settings.imap_host:
        app.state.mailbox = Mailbox(inbox, limiter)
        jobs.append(app.state.mailbox.run())
    try:
        async with background(*jobs, *_relay(settings, submissions)):
            yield
    finally:
        await http.aclose()
        await redis.aclose()
        await pool.close()
        submissions.close()


def _consuming(
    settings: Settings, inbox: Inbox, dispatcher: Dispatcher
) -> list[Coroutine[Any, Any, None]]:
    """Workflow's events, for messages to the complainant. Not a readiness check: intake's
    work is accepting submissions, which its outbox keeps while the broker is away (the relay's
    state shows in the metrics aduan_server_up{server="rabbitmq"} and aduan_relay_active)."""
    return [run_consumer(settings, consumer(inbox, dispatcher.wake), BrokerLink())]


def _relay(settings: Settings, submissions: Submissions) -> list[Coroutine[Any, Any, None]]:
    if not settings.relay:
        return []
    relay = Relay(settings, "intake", EventLog.of(submissions), translator(submissions, WIRE))
    return [relay.run()]


def create_app(settings: Settings) -> FastAPI:
    """The intake API under /intake."""
    app = create_service_app(
        service="intake", settings=settings, lifespan=partial(lifespan, settings)
    )
    for channel in CHANNELS:
        app.include_router(channel.router, prefix="/intake")
    app.include_router(personal.router, prefix="/intake")
    app.include_router(excerpts.router, prefix="/intake")
    app.include_router(survey.router, prefix="/intake")
    app.include_router(deliveries.router, prefix="/intake")
    app.include_router(complainant.router, prefix="/intake")
    app.include_router(agency_pages.router, prefix="/intake")
    app.include_router(agency_pages.pages)  # /instansi/{agency_id}/pengaduan: the front door's
    app.include_router(feed.router, dependencies=[Depends(store_up)])
    app.include_router(lookup.router)
    # Open311 has its own prefix at the front door (POST here, GET at reporting) and error format.
    app.include_router(open311.router)
    app.add_exception_handler(Open311Error, error_response)
    install(app, (STORE, "redis"))
    app.add_exception_handler(Refused, refusal_handler(REFUSALS))
    return app
