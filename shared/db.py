"""PostgreSQL helpers every service uses: typed aliases, creating the database and schemas."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from shared.settings import Settings

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:  # asyncpg's classes are generic only in their type stubs
    Connection, Pool = asyncpg.Connection, asyncpg.Pool


async def connect(settings: Settings, **kwargs: Any) -> asyncpg.Connection[asyncpg.Record]:
    """One connection to the deployment's database."""
    return await asyncpg.connect(settings.postgres_dsn(), timeout=10, **kwargs)


async def create_pool(
    settings: Settings,
    *,
    search_path: str | None = None,
    max_size: int | None = None,
    min_size: int = 1,
) -> Pool:
    """A connection pool; `search_path` makes a schema's tables resolve unqualified. With
    `min_size=0` it keeps no connection open for its own sake, so an outage is not logged with
    a traceback each time it fails to restore one (only callers hear of it)."""
    server_settings = {"search_path": search_path} if search_path else None
    pool = await asyncpg.create_pool(
        settings.postgres_dsn(),
        min_size=min_size,
        max_size=max_size or settings.postgres_pool_size,
        server_settings=server_settings,
        timeout=10,
    )
    assert pool is not None
    return pool


async def ensure_database(settings: Settings) -> None:
    """Create the configured database if it does not exist yet (safe when racing)."""
    try:
        conn = await connect(settings)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(settings.postgres_dsn("postgres"), timeout=10)
        try:
            await admin.execute(f'CREATE DATABASE "{settings.postgres_db}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            pass  # another service created it first
        finally:
            await admin.close()
    else:
        await conn.close()


@contextlib.asynccontextmanager
async def setup_lock(settings: Settings, name: str) -> AsyncIterator[None]:
    """Serialise a service's start-up DDL across processes (CREATE ... IF NOT EXISTS races)."""
    await ensure_database(settings)
    conn = await connect(settings)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"aduan.setup.{name}")
        yield
    finally:
        await conn.close()


async def ensure_schema(settings: Settings, schema: str) -> None:
    """Create the database and a service's schema in it, if missing."""
    await ensure_database(settings)
    conn = await connect(settings)
    try:
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await conn.close()
