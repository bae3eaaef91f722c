"""A service's notification log as CloudEvents, for readers that rebuild from it (not the bus).

Its reads answer within the deadline of `shared.db.read` (503 while the database is away).
Served under /internal on the service's own port only (the gateway and the compose proxy
forward the public prefixes, never /internal), and only to a caller presenting the service
credential: ADUAN_INTERNAL_TOKEN, or the one secret made once and kept in the database every
service of a deployment shares.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError, create_model

from shared.db import Connection, Pool, ensure_internal_schema, read, read_long
from shared.events import Envelope, InvalidMessage, encode
from shared.events.envelope import envelope_of, wire_event
from shared.problems import Problem
from shared.relay import EventLog, Translate, batch_of, read_notifications
from shared.settings import Settings

CREDENTIAL_HEADER = "X-Aduan-Service-Credential"
_CREDENTIALS = "aduan_internal.credentials"
UNWIRED = "Peristiwa berikutnya belum dapat diterbitkan oleh versi layanan ini."


async def service_credential(settings: Settings, conn: Connection) -> str:
    """What services present to each other's /internal routes: the configured token, or the
    one made on first use and kept in the database."""
    configured = settings.internal_token.get_secret_value()
    if configured:
        return configured
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('aduan.internal.credential'))")
        await ensure_internal_schema(conn)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {_CREDENTIALS} (id integer PRIMARY KEY, "
            "secret text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute(
            f"INSERT INTO {_CREDENTIALS} (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING",
            secrets.token_urlsafe(32),
        )
        return str(await conn.fetchval(f"SELECT secret FROM {_CREDENTIALS} WHERE id = 1"))


async def require_service_credential(request: Request) -> None:
    """Refuse a caller that does not present the service credential (compared in constant time)."""
    expected: str | None = getattr(request.app.state, "service_credential", None)
    if expected is None:
        feed: Feed = request.app.state.feed
        settings = request.app.state.settings
        expected = await read(feed.pool, partial(service_credential, settings))
        request.app.state.service_credential = expected
    presented = request.headers.get(CREDENTIAL_HEADER, "").encode("utf-8", "replace")
    if not hmac.compare_digest(presented, expected.encode()):
        raise Problem(403, "Rute internal hanya untuk layanan Aduan.", code="internal-only")


router = APIRouter(
    prefix="/internal/v1",
    include_in_schema=False,
    dependencies=[Depends(require_service_credential)],
)


@dataclass(frozen=True)
class Feed:
    """Where the feed reads from, and how it maps stored events to the wire."""

    pool: Pool
    log: EventLog
    translate: Translate


@router.get("/events")
async def events(
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    """The wire events after a notification id; `next` is where the following page starts.

    A page ends before an event the wire table refuses; 503 if the page would begin with it.
    """
    feed: Feed = request.app.state.feed
    page = partial(read_notifications, log_=feed.log, after=after, limit=limit)
    rows = await read_long(feed.pool, page)
    batch = await asyncio.to_thread(batch_of, rows, feed.translate)
    if batch.refused and batch.through is None:  # as the relay does: no skipping past it
        raise Problem(503, UNWIRED, code="unwired-event", headers={"Retry-After": "60"})
    last = batch.through or after
    body = b'{"next":%d,"events":[%s]}' % (last, b",".join(map(encode, batch.envelopes)))
    return Response(body, media_type="application/json")


@router.get("/head")
async def head(request: Request) -> dict[str, int]:
    """The newest notification id."""
    feed: Feed = request.app.state.feed
    query = f"SELECT max(notification_id) FROM {feed.log.qualified}"
    newest = await read(feed.pool, lambda conn: conn.fetchval(query))
    return {"head": int(newest or 0)}


def decode_page(body: bytes) -> tuple[list[Envelope], int]:
    """A page of `events` read back: its events, validated, and where the next page starts.
    pydantic-core reads the whole page in one pass (a rebuild reads every page there is)."""
    try:
        page: Any = _page().model_validate_json(body)
    except ValidationError as error:
        raise InvalidMessage(f"malformed feed page: {error}") from error
    return list(map(envelope_of, page.events)), page.next


@functools.cache
def _page() -> type[BaseModel]:
    events: Any = list[wire_event()]  # type: ignore[misc]  # a type made at run time
    return create_model("FeedPage", next=(int, ...), events=(events, ...))
