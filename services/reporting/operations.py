"""Live operations: the event stream (SSE over a capped Redis Stream), dead letters, gauges.

Redis holds only what may be lost: the stream is a window on the recent events, filled after
each projecting transaction commits; a client resumes with Last-Event-ID inside that window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, Header, Query, Request
from prometheus_client import Gauge
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from services.reporting import dead_letters, stream_erasure
from services.reporting.masking import (
    HIDDEN,
    CaseAccess,
    acting,
    masked,
    permitted,
    reasons_visible,
)
from services.reporting.tenancy import InstansiQuery, Scope, officer_scope
from shared.access import PUBLIC, Facet, Privacy, readers
from shared.auth import Forbidden, Officer, TokenVerifier, Unauthenticated
from shared.broker import connect, on_broker
from shared.db import LONG_SECONDS, Connection, Pool, read
from shared.events import CONTRACTS, CaseImported, Envelope, SubmissionImported, encode
from shared.outages import Unavailable, unreachable, within
from shared.problems import Problem, problems
from shared.redis_client import redis_client
from shared.settings import Settings
from shared.sop import Role
from shared.topology import BINDINGS, declare_topology, inbox, parking_queue, partition_queues
from shared.vocabulary import Group, statuses

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/operations", tags=["operations"])

STREAM_LENGTH = 10_000
FOLLOWERS = 80
"""Live streams open at once in this process, at most: each holds a Redis connection in its
blocking read, and the events' own writes must always find one."""
FOLLOWERS_PER_OFFICER = 5
"""Live streams one officer may hold open (a few tabs), so that no one takes every slot."""
RECHECK_SECONDS = 5.0
"""How often an open stream checks its token again (expired, or its account changed)."""
STREAM_ID_PART = 2**64  # a Redis stream id is two unsigned 64-bit numbers
HISTORY = (SubmissionImported, CaseImported)
"""The old register's cases coming in: history, not operations. They stay off the live stream
(an import of a whole register would push every recent event out of its window, and cost a
Redis write per row)."""
SUBSCRIBERS = readers(Facet.STATUS, Privacy.NORMAL) - {PUBLIC}
"""Who may follow the live stream: officers who may see some cases (each sees only those)."""
QUEUE_DEPTH = Gauge(
    "aduan_queue_depth", "Messages waiting in a service's partition queues", ["queue"]
)
DEAD_LETTERS = Gauge("aduan_dead_letters", "Parked messages not re-queued yet", ["service"])
OVERDUE = Gauge("aduan_cases_overdue", "Open cases past their step's time standard", ["agency"])
BREACHED = Gauge("aduan_cases_breached", "Open cases past their deadline", ["agency"])


class LiveStream:
    """The capped Redis Stream of recent events."""

    def __init__(self, settings: Settings) -> None:
        self.redis = redis_client(settings, 30)
        self.key = settings.redis_key("events")
        self.following: Counter[str] = Counter()  # open streams, by officer

    def admit(self, officer: str) -> Callable[[], None]:
        """Count a stream as the officer's from now; its release (once, whatever calls it).
        A 429 problem past the officer's share of the process's live streams, a 503 when
        every one is taken (never a stream that ends at once: a browser would reconnect to it
        in a loop)."""
        if self.following[officer] >= FOLLOWERS_PER_OFFICER:
            detail = (
                f"Anda sudah membuka {FOLLOWERS_PER_OFFICER} aliran peristiwa; tutup salah satu."
            )
            raise Problem(429, detail, code="too-many-streams", headers={"Retry-After": "30"})
        if self.following.total() >= FOLLOWERS:
            detail = "Aliran peristiwa sedang penuh; coba lagi sebentar."
            raise Problem(503, detail, code="streams-full", headers={"Retry-After": "30"})
        self.following[officer] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.following[officer] -= 1
                if not self.following[officer]:
                    del self.following[officer]

        return release

    async def append(self, envelopes: Sequence[Envelope]) -> None:
        """Add events, oldest first, but the register's history; best effort (the read model
        is the record, not this). Redis away: its ConnectionError or TimeoutError, for the
        caller's outage (logged once, not once per batch)."""
        live = [envelope for envelope in envelopes if not isinstance(envelope.data, HISTORY)]
        if not live:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for envelope in stream_erasure.kept(live):
                    fields = {
                        "type": envelope.type,
                        "agency": envelope.agency,
                        "body": encode(envelope),
                    }
                    pipe.xadd(self.key, fields, maxlen=STREAM_LENGTH, approximate=True)  # type: ignore[arg-type]
                await pipe.execute()
        except aioredis.RedisError as error:
            if unreachable("redis", error):
                raise  # Redis away: said once per outage by the caller's `within`
            log.warning("live stream: %s", error)

    async def forget(self, cases: set[str]) -> None:
        """Take erased cases' events off the stream; RedisError if Redis could not be told."""
        removed = await stream_erasure.forget(self.redis, self.key, cases)
        if removed:
            log.info("live stream: %d events of %d erased cases removed", removed, len(cases))

    async def follow(
        self,
        after: str,
        types: set[str],
        agencies: Scope,
        valid: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[dict[str, str]]:
        """Server-sent events of these agencies from after the given stream id ("$": only new
        ones), for as long as `valid` (asked every RECHECK_SECONDS) says the reader may."""
        cursor, checked = after, asyncio.get_running_loop().time()
        while True:
            if valid is not None and asyncio.get_running_loop().time() - checked > RECHECK_SECONDS:
                if not await valid():
                    return  # the token expired or its account changed: the client signs in again
                checked = asyncio.get_running_loop().time()
            try:
                batches: Any = await self.redis.xread({self.key: cursor}, count=200, block=5_000)
            except aioredis.RedisError as error:  # the client reconnects with Last-Event-ID
                log.warning("live stream: %s", error)
                return
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    cursor = entry_id.decode()
                    kind, owner = fields[b"type"].decode(), fields[b"agency"].decode()
                    if (types and kind not in types) or not agencies.holds(owner):
                        continue
                    yield {"id": cursor, "event": kind, "data": fields[b"body"].decode()}

    async def close(self) -> None:
        """Close the connection."""
        await self.redis.aclose()


async def _operator(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> Officer:
    # In the Authorization header only, never in the address: proxies log addresses (the
    # operations page reads the stream with fetch, which sends the header).
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not token:
        raise Unauthenticated("Perlu token petugas.")
    verifier: TokenVerifier = request.app.state.verifier
    officer = await verifier.verify(token)
    request.state.token = token  # the live stream checks it again while it runs
    if not officer.has(*SUBSCRIBERS):
        raise Forbidden("Hanya petugas yang dapat melihat aliran peristiwa.")
    return officer


Operator = Annotated[Officer, Depends(_operator)]


@router.get("/events", responses=problems(401, 403, 422, 429, 503))
async def live_events(
    request: Request,
    officer: Operator,
    type: Annotated[list[str] | None, Query(description="Jenis peristiwa, mis. CaseOpened")] = None,
    agency: Annotated[str | None, Query(max_length=100, description="Sama dengan instansi")] = None,
    instansi: InstansiQuery = None,
    last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None,
) -> EventSourceResponse:
    """Events as they happen (SSE) of the officer's agencies (`instansi`: one of them);
    reconnect with Last-Event-ID to resume without gaps."""
    stream: LiveStream = request.app.state.live
    if last_event_id and any(int(part) >= STREAM_ID_PART for part in last_event_id.split("-")):
        raise Problem(422, "Last-Event-ID di luar rentang.", code="validation")
    wanted = {f"aduan.{name}.v1" if "." not in name else name for name in type or []}
    scope = await officer_scope(request, officer, instansi or agency)
    verifier: TokenVerifier = request.app.state.verifier
    valid = partial(_still_valid, verifier, request.state.token)
    events = stream.follow(last_event_id or "$", wanted, scope, valid)
    # The primary: the stream carries events just projected there, which a lagging replica
    # would not know yet (an unknown case is masked as confidential).
    cases = CaseAccess(request.app.state.pool)
    answered = permitted(events, acting(officer), cases)
    return CountedStream(answered, stream.admit(officer.id), ping=15)


class CountedStream(EventSourceResponse):
    """An event stream counted from its admission until it ends, or until the response is
    dropped unsent (a client gone before it started): `release` runs once either way."""

    def __init__(self, events: AsyncIterator[Any], release: Callable[[], None], **kwargs: Any):
        super().__init__(events, **kwargs)
        self._release = weakref.finalize(self, release)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Stream, then release."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _still_valid(verifier: TokenVerifier, token: str) -> bool:
    try:
        await verifier.verify(token)
    except (Unauthenticated, Forbidden):
        return False
    return True


@router.get("/event-types")
async def event_types() -> list[str]:
    """Every event type the platform publishes (the SSE event names of /events)."""
    return sorted(CONTRACTS)


class Parked(BaseModel):
    """One parking of a message: after how many deliveries, when and why; who re-queued it."""

    id: str
    reason: str | None
    deliveries: int | None
    first_failure: datetime | None
    last_failure: datetime | None
    requeued_by: str | None
    requeued_at: datetime | None


class DeadLetter(Parked):
    """A message an operator must look at, with its earlier parkings (oldest first)."""

    service: str
    message_id: str | None
    type: str | None
    body: str
    history: list[Parked]


def _admin(officer: Officer) -> None:
    if not officer.has(Role.ADMIN):
        raise Forbidden("Hanya administrator yang dapat mengelola pesan gagal.")


@router.get("/dead-letters", responses=problems(401, 403, 422, 503))
async def list_dead_letters(
    request: Request,
    officer: Operator,
    state: Annotated[dead_letters.State, Query(description="parked, requeued atau all")] = "parked",
) -> list[DeadLetter]:
    """Parked messages with their true delivery counts and history; reading changes nothing."""
    _admin(officer)
    pool: Pool = request.app.state.pool
    await read(pool, lambda conn: conn.fetchval("SELECT true"))  # the list lives in the store
    # Move what was parked since the last call first: cut short, or with the broker away, it
    # loses nothing, and the list shows what was collected before.
    with contextlib.suppress(Unavailable):
        await dead_letters.on_the_broker(dead_letters.collect(request.app.state.settings, pool))
    cases = CaseAccess(pool)
    listed = await read(pool, partial(dead_letters.letters, state=state))
    scope = await officer_scope(request, officer, None)
    home = request.app.state.settings.agency
    bodies = [bytes(letter.row["body"]) for letter in listed]
    owners = await read(pool, lambda conn: _owners(conn, bodies, home))
    mine = [  # of the agencies the officer administers
        letter
        for letter, agency in zip(listed, owners, strict=True)
        if scope.holds(agency) and Role.ADMIN in officer.roles_in(agency)
    ]
    return [await _letter(letter, officer, cases) for letter in mine]


async def _owners(conn: Connection, bodies: Sequence[bytes], home: str) -> list[str]:
    """The agency each parked message is of now: the one its case has in the read model (a
    case moves between agencies, and a message names the agency of its moment), else the one
    the message names, else the home agency (a body that cannot say)."""
    named = [_named(body, home) for body in bodies]
    rows = await conn.fetch(
        "SELECT case_id::text AS case_id, agency FROM case_summary WHERE case_id = ANY($1::uuid[])",
        sorted({case for case, _ in named if case is not None}),
    )
    now = {row["case_id"]: row["agency"] for row in rows}
    return [now.get(case or "", agency) for case, agency in named]


def _named(body: bytes, home: str) -> tuple[str | None, str]:
    """The case (when its subject is a case id) and the agency a message's body names."""
    try:
        event = json.loads(body)
    except ValueError:
        return None, home
    if not isinstance(event, dict):
        return None, home
    agency = event.get("agency")
    case: str | None = None
    with contextlib.suppress(TypeError, ValueError, AttributeError):
        case = str(UUID(event.get("subject")))
    return case, agency if isinstance(agency, str) else home


async def _letter(letter: dead_letters.Letter, officer: Officer, cases: CaseAccess) -> DeadLetter:
    row = letter.row
    text = bytes(row["body"]).decode("utf-8", errors="replace")
    body = await masked(text, acting(officer), cases)
    shows_reason = await reasons_visible(text, acting(officer), cases)
    return DeadLetter(
        **_parked(row, shows_reason).model_dump(),
        service=row["service"],
        message_id=row["message_id"],
        type=row["type"],
        body=(HIDDEN if body is None else body)[:2000],
        history=[_parked(earlier, shows_reason) for earlier in letter.history],
    )


def _parked(row: Any, shows_reason: bool) -> Parked:
    return Parked(
        id=row["parking_id"],
        reason=row["reason"] if shows_reason or row["reason"] is None else HIDDEN,
        deliveries=row["deliveries"],
        first_failure=row["first_failure"],
        last_failure=row["last_failure"],
        requeued_by=row["requeued_by"],
        requeued_at=row["requeued_at"],
    )


@router.post("/dead-letters/{service}/requeue", responses=problems(401, 403, 404, 503))
async def requeue(
    request: Request,
    officer: Operator,
    service: str,
    message_id: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, int]:
    """Send parked messages (one, or all) back to their service's queue, in your name."""
    _admin(officer)
    if service not in BINDINGS:
        raise Problem(404, "Layanan tidak dikenal.", code="unknown-service")
    pool: Pool = request.app.state.pool
    await read(pool, lambda conn: conn.fetchval("SELECT true"))  # who re-queued is stored
    # What was parked since the last listing is re-queued too.
    await dead_letters.on_the_broker(dead_letters.collect(request.app.state.settings, pool))
    home = request.app.state.settings.agency

    async def may(conn: Connection, bodies: Sequence[bytes]) -> list[bool]:
        # an administrator of the agency each message is of now
        return [Role.ADMIN in officer.roles_in(a) for a in await _owners(conn, bodies, home)]

    requeuing = dead_letters.requeue(
        request.app.state.settings,
        pool,
        service=service,
        message_id=message_id,
        by=officer.id,
        may=may,
    )
    moved = await within("postgres", requeuing, LONG_SECONDS)
    return {"requeued": moved}


async def measure(settings: Settings, pool: Pool) -> None:
    """Refresh the operations gauges: queue depths, dead letters, overdue and breached cases
    (per agency; the home agency's even at none)."""
    late = await read(pool, _late)
    for agency in {settings.agency, *late}:
        overdue, breached = late.get(agency, (0, 0))
        OVERDUE.labels(agency).set(overdue)
        BREACHED.labels(agency).set(breached)
    await on_broker(dead_letters.collect(settings, pool), settings.broker_deadline_seconds)
    listed = await read(pool, dead_letters.waiting)
    await on_broker(_queue_gauges(settings, listed), settings.broker_deadline_seconds)


async def _queue_gauges(settings: Settings, listed: dict[str, int]) -> None:
    connection = await connect(settings, "aduan-gauges")
    try:
        channel = await connection.channel()
        await declare_topology(channel, settings)
        for service in BINDINGS:
            waiting = 0
            for name in partition_queues(settings, service):
                queue = await channel.declare_queue(name, passive=True)
                waiting += queue.declaration_result.message_count or 0
            parked = await channel.declare_queue(parking_queue(service), passive=True)
            QUEUE_DEPTH.labels(inbox(service)).set(waiting)  # every partition of the service
            uncollected = parked.declaration_result.message_count or 0
            DEAD_LETTERS.labels(service).set(listed[service] + uncollected)
    finally:
        await connection.close()


async def _late(conn: Connection) -> dict[str, tuple[int, int]]:
    """Per agency: open cases past their step's standard, and past their deadline."""
    rows = await conn.fetch(
        "SELECT agency, count(*) FILTER (WHERE overdue) AS overdue, "
        "count(*) FILTER (WHERE breached) AS breached FROM case_summary "
        "WHERE status = ANY($1) AND (overdue OR breached) GROUP BY agency",
        statuses(Group.OPEN),
    )
    return {row["agency"]: (row["overdue"], row["breached"]) for row in rows}


async def run_gauges(settings: Settings, pool: Pool, every: float = 15.0) -> None:
    """Refresh the gauges until cancelled."""
    while True:
        try:
            await measure(settings, pool)
        except Unavailable:
            pass  # the outage is logged once (shared.outages)
        except Exception as error:  # noqa: BLE001 - gauges are best effort; say why and go on
            log.warning("gauges: %s", error)
        await asyncio.sleep(every)
