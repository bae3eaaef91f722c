"""A service's notification log as CloudEvents, for readers that rebuild from it (not the bus).

Served under /internal on the service's own port only (the gateway and the compose proxy
forward the public prefixes, never /internal), and only to a caller presenting the service
credential: ADUAN_INTERNAL_TOKEN, or the one secret made once and kept in the database every
service of a deployment shares.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shared.db import Connection, Pool
from shared.events import encode
from shared.outages import within
from shared.problems import Problem
from shared.relay import EventLog, Translate, envelopes_of, read_notifications
from shared.settings import Settings

CREDENTIAL_HEADER = "X-Aduan-Service-Credential"
_CREDENTIALS = "aduan_internal.credentials"


async def service_credential(settings: Settings, conn: Connection) -> str:
    """What services present to each other's /internal routes: the configured token, or the
    one made on first use and kept in the database."""
    configured = settings.internal_token.get_secret_value()
    if configured:
        return configured
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('aduan.internal.credential'))")
        await conn.execute("CREATE SCHEMA IF NOT EXISTS aduan_internal")
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

        async def made() -> str:
            async with feed.pool.acquire() as conn:
                return await service_credential(request.app.state.settings, conn)

        expected = await within("postgres", made())
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
    """The wire events after a notification id; `next` is where the following page starts."""
    feed: Feed = request.app.state.feed

    async def read() -> list[asyncpg.Record]:
        async with feed.pool.acquire() as conn:
            return await read_notifications(conn, feed.log, after=after, limit=limit)

    rows = await within("postgres", read())
    envelopes = await asyncio.to_thread(envelopes_of, rows, feed.translate)
    last = rows[-1]["notification_id"] if rows else after
    body = b'{"next":%d,"events":[%s]}' % (last, b",".join(map(encode, envelopes)))
    return Response(body, media_type="application/json")


@router.get("/head")
async def head(request: Request) -> dict[str, int]:
    """The newest notification id."""
    feed: Feed = request.app.state.feed

    async def read() -> int:
        async with feed.pool.acquire() as conn:
            sql = f"SELECT max(notification_id) FROM {feed.log.qualified}"
            return int(await conn.fetchval(sql) or 0)

    newest = await within("postgres", read())
    return {"head": newest}
