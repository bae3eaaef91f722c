"""Live operations: the event stream (SSE over a capped Redis Stream), dead letters, gauges.

Redis holds only what may be lost: the stream is a window on the recent events, filled after
each projecting transaction commits; a client resumes with Last-Event-ID inside that window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

import aio_pika
import httpx
import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, Header, Query, Request
from prometheus_client import Gauge
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from services.reporting import stream_erasure
from services.reporting.masking import HIDDEN, CaseAccess, masked, permitted
from shared.access import PUBLIC, Facet, Privacy, readers
from shared.auth import Forbidden, Officer, TokenVerifier, Unauthenticated
from shared.broker import connect, on_broker
from shared.db import Pool
from shared.events import CONTRACTS, Envelope, encode
from shared.messaging import BINDINGS, declare_topology, parking_queue, queue_name
from shared.outages import Unavailable
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.sop import Role

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/operations", tags=["operations"])

STREAM_LENGTH = 10_000
SUBSCRIBERS = readers(Facet.STATUS, Privacy.NORMAL) - {PUBLIC}
"""Who may follow the live stream: officers who may see some cases (each sees only those)."""
QUEUE_DEPTH = Gauge("aduan_queue_depth", "Messages waiting in a consumer's queue", ["queue"])
DEAD_LETTERS = Gauge("aduan_dead_letters", "Messages in a service's parking queue", ["service"])
OVERDUE = Gauge("aduan_cases_overdue", "Open cases past their step's time standard", ["agency"])
BREACHED = Gauge("aduan_cases_breached", "Open cases past their deadline", ["agency"])


class LiveStream:
    """The capped Redis Stream of recent events."""

    def __init__(self, settings: Settings) -> None:
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=30)
        self.key = settings.redis_key("events")

    async def append(self, envelopes: Sequence[Envelope]) -> None:
        """Add events, oldest first; best effort (the read model is the record, not this)."""
        if not envelopes:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for envelope in stream_erasure.kept(envelopes):
                    fields = {
                        "type": envelope.type,
                        "agency": envelope.agency,
                        "body": encode(envelope),
                    }
                    pipe.xadd(self.key, fields, maxlen=STREAM_LENGTH, approximate=True)  # type: ignore[arg-type]
                await pipe.execute()
        except aioredis.RedisError as error:
            log.warning("live stream: %s", error)

    async def forget(self, cases: set[str]) -> None:
        """Take erased cases' events off the stream; RedisError if Redis could not be told."""
        removed = await stream_erasure.forget(self.redis, self.key, cases)
        if removed:
            log.info("live stream: %d events of %d erased cases removed", removed, len(cases))

    async def follow(
        self, after: str, types: set[str], agency: str | None
    ) -> AsyncIterator[dict[str, str]]:
        """Server-sent events from after the given stream id ("$": only new ones)."""
        cursor = after
        while True:
            try:
                batches: Any = await self.redis.xread({self.key: cursor}, count=200, block=5_000)
            except aioredis.RedisError as error:  # the client reconnects with Last-Event-ID
                log.warning("live stream: %s", error)
                return
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    cursor = entry_id.decode()
                    kind, owner = fields[b"type"].decode(), fields[b"agency"].decode()
                    if (types and kind not in types) or (agency and owner != agency):
                        continue
                    yield {"id": cursor, "event": kind, "data": fields[b"body"].decode()}

    async def close(self) -> None:
        """Close the connection."""
        await self.redis.aclose()


async def _operator(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    access_token: Annotated[str | None, Query(description="Untuk EventSource di peramban")] = None,
) -> Officer:
    token = access_token or (authorization or "").removeprefix("Bearer ").strip()
    if not token:
        raise Unauthenticated("Perlu token petugas.")
    verifier: TokenVerifier = request.app.state.verifier
    officer = await verifier.verify(token)
    if not officer.has(*SUBSCRIBERS):
        raise Forbidden("Hanya petugas yang dapat melihat aliran peristiwa.")
    return officer


Operator = Annotated[Officer, Depends(_operator)]


@router.get("/events", responses=problems(401, 403, 422))
async def live_events(
    request: Request,
    officer: Operator,
    type: Annotated[list[str] | None, Query(description="Jenis peristiwa, mis. CaseOpened")] = None,
    agency: Annotated[str | None, Query(max_length=100)] = None,
    last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None,
) -> EventSourceResponse:
    """Events as they happen (SSE); reconnect with Last-Event-ID to resume without gaps."""
    stream: LiveStream = request.app.state.live
    wanted = {f"aduan.{name}.v1" if "." not in name else name for name in type or []}
    events = stream.follow(last_event_id or "$", wanted, agency)
    cases = CaseAccess(request.app.state.pool)
    return EventSourceResponse(permitted(events, officer.roles, cases), ping=15)


@router.get("/event-types")
async def event_types() -> list[str]:
    """Every event type the platform publishes (the SSE event names of /events)."""
    return sorted(CONTRACTS)


class DeadLetter(BaseModel):
    """A message an operator must look at."""

    service: str
    message_id: str | None
    type: str | None
    reason: str | None
    deliveries: int | None
    body: str


def _admin(officer: Officer) -> None:
    if not officer.has(Role.ADMIN):
        raise Forbidden("Hanya administrator yang dapat mengelola pesan gagal.")


@router.get("/dead-letters", responses=problems(401, 403))
async def dead_letters(request: Request, officer: Operator) -> list[DeadLetter]:
    """Every parked message, with why it was parked."""
    _admin(officer)
    settings: Settings = request.app.state.settings
    api, auth = settings.management_api()
    vhost = settings.rabbitmq_vhost().replace("/", "%2F")
    letters = []
    cases = CaseAccess(request.app.state.pool)
    async with httpx.AsyncClient(base_url=api, auth=auth, timeout=10) as http:
        for service in BINDINGS:
            answer = await http.post(
                f"/api/queues/{vhost}/{parking_queue(service)}/get",
                json={"count": 500, "ackmode": "ack_requeue_true", "encoding": "auto"},
            )
            answer.raise_for_status()
            for message in answer.json():
                body = await masked(str(message.get("payload", "")), officer.roles, cases)
                letters.append(_letter(service, message, HIDDEN if body is None else body))
    return letters


def _letter(service: str, message: dict[str, Any], body: str) -> DeadLetter:
    properties = message.get("properties", {})
    deaths = (properties.get("headers") or {}).get("x-death") or [{}]
    return DeadLetter(
        service=service,
        message_id=properties.get("message_id"),
        type=properties.get("type"),
        reason=deaths[0].get("reason"),
        deliveries=(properties.get("headers") or {}).get("x-delivery-count"),
        body=body[:2000],
    )


@router.post("/dead-letters/{service}/requeue", responses=problems(401, 403, 404))
async def requeue(
    request: Request,
    officer: Operator,
    service: str,
    message_id: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, int]:
    """Send parked messages (one, or all) back to their service's queue."""
    _admin(officer)
    if service not in BINDINGS:
        raise Problem(404, "Layanan tidak dikenal.", code="unknown-service")
    settings: Settings = request.app.state.settings
    return {"requeued": await _move(settings, service, message_id)}


async def _move(settings: Settings, service: str, message_id: str | None) -> int:
    connection = await connect(settings, "aduan-operator")
    moved = 0
    try:
        channel = await connection.channel(publisher_confirms=True)
        parking = await channel.get_queue(parking_queue(service))
        seen = await parking.declare()
        for _ in range(seen.message_count or 0):
            message = await parking.get(no_ack=False, fail=False)
            if message is None:
                break
            if message_id and message.message_id != message_id:
                await message.nack(requeue=True)
                continue
            copy = aio_pika.Message(
                body=message.body,
                content_type=message.content_type,
                message_id=message.message_id,
                type=message.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await channel.default_exchange.publish(copy, routing_key=queue_name(service))
            await message.ack()
            moved += 1
    finally:
        await connection.close()
    return moved


async def measure(settings: Settings, pool: Pool) -> None:
    """Refresh the operations gauges: queue depths, dead letters, overdue and breached cases."""
    async with pool.acquire() as conn:
        overdue = await conn.fetchval(
            "SELECT count(*) FROM case_summary WHERE agency = $1 AND overdue "
            "AND status IN ('in_progress', 'waiting_info')",
            settings.agency,
        )
        breached = await conn.fetchval(
            "SELECT count(*) FROM case_summary WHERE agency = $1 AND breached "
            "AND status IN ('in_progress', 'waiting_info')",
            settings.agency,
        )
    OVERDUE.labels(settings.agency).set(overdue)
    BREACHED.labels(settings.agency).set(breached)
    await on_broker(_queue_gauges(settings), settings.broker_deadline_seconds)


async def _queue_gauges(settings: Settings) -> None:
    connection = await connect(settings, "aduan-gauges")
    try:
        channel = await connection.channel()
        await declare_topology(channel, settings)
        for service in BINDINGS:
            queue = await channel.declare_queue(queue_name(service), passive=True)
            parked = await channel.declare_queue(parking_queue(service), passive=True)
            QUEUE_DEPTH.labels(queue_name(service)).set(queue.declaration_result.message_count or 0)
            DEAD_LETTERS.labels(service).set(parked.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def run_gauges(settings: Settings, pool: Pool, every: float = 15.0) -> None:
    """Refresh the gauges until cancelled."""
    while True:
        try:
            await measure(settings, pool)
        except Unavailable:
            pass  # OUTAGES has said so, once per outage
        except Exception as error:  # noqa: BLE001 - gauges are best effort; say why and go on
            log.warning("gauges: %s", error)
        await asyncio.sleep(every)
