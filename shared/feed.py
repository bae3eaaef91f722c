"""A service's notification log as CloudEvents, for readers that rebuild from it (not the bus).

Served under /internal on the service's own port only: the gateway and the compose proxy
forward the public prefixes (/intake, /workflow, /reporting), never /internal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shared.db import Pool
from shared.events import encode
from shared.relay import EventLog, Translate, envelopes_of, read_notifications

router = APIRouter(prefix="/internal/v1", include_in_schema=False)


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
    """The wire events after a notification id; `next` is where the following page starts."""
    feed: Feed = request.app.state.feed
    async with feed.pool.acquire() as conn:
        rows = await read_notifications(conn, feed.log, after=after, limit=limit)
    envelopes = await asyncio.to_thread(envelopes_of, rows, feed.translate)
    last = rows[-1]["notification_id"] if rows else after
    body = b'{"next":%d,"events":[%s]}' % (last, b",".join(map(encode, envelopes)))
    return Response(body, media_type="application/json")


@router.get("/head")
async def head(request: Request) -> dict[str, int]:
    """The newest notification id."""
    feed: Feed = request.app.state.feed
    async with feed.pool.acquire() as conn:
        newest = await conn.fetchval(f"SELECT max(notification_id) FROM {feed.log.qualified}")
    return {"head": int(newest or 0)}
