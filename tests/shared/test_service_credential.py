"""The credential of /internal: the configured token, or one secret made once in the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

from pydantic import SecretStr

from shared import agencies, db
from shared.feed import service_credential
from shared.settings import Settings


async def test_one_secret_is_made_once_and_shared(settings: Settings) -> None:
    async def made() -> str:
        conn = await db.connect(settings)
        try:
            return await service_credential(settings, conn)
        finally:
            await conn.close()

    secrets = await asyncio.gather(*(made() for _ in range(4)))
    assert len(set(secrets)) == 1
    assert len(secrets[0]) >= 32
    assert await made() == secrets[0]


async def test_a_configured_token_is_used_as_it_is(settings: Settings) -> None:
    configured = settings.model_copy(update={"internal_token": SecretStr("rahasia-layanan")})
    conn = await db.connect(configured)
    try:
        assert await service_credential(configured, conn) == "rahasia-layanan"
    finally:
        await conn.close()


async def test_services_starting_together_on_a_fresh_database_make_the_shared_schema_once(
    settings: Settings,
) -> None:
    """Intake makes the credential while workflow makes the agencies table: both create the
    internal schema, and neither start fails on the catalog's unique index."""

    async def made(work: Callable[[db.Connection], Awaitable[object]]) -> None:
        conn = await db.connect(settings)
        try:
            await work(conn)
        finally:
            await conn.close()

    for _ in range(3):
        conn = await db.connect(settings)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {db.INTERNAL_SCHEMA} CASCADE")
        finally:
            await conn.close()
        credential = partial(service_credential, settings)
        work: list[Callable[[db.Connection], Awaitable[object]]] = [
            credential,
            agencies.ensure_table,
        ] * 3
        await asyncio.gather(*(made(piece) for piece in work))
