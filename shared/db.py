"""PostgreSQL helpers every service uses: typed aliases, creating the database and schemas,
reading under a deadline."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg

from shared.outages import DEADLINE_SECONDS, OUTAGES, within
from shared.settings import Settings

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:  # asyncpg's classes are generic only in their type stubs
    Connection, Pool = asyncpg.Connection, asyncpg.Pool

T = TypeVar("T")
PROBE_SECONDS = 0.5
"""A read's deadline while an outage of the database is on: a server back answers at once."""


async def connect(settings: Settings, **kwargs: Any) -> asyncpg.Connection[asyncpg.Record]:
    """One connection to the deployment's database."""
    return await asyncpg.connect(settings.postgres_dsn(), timeout=10, **kwargs)


async def create_pool(
    settings: Settings,
    *,
    search_path: str | None = None,
    max_size: int | None = None,
    command_timeout: float | None = None,
) -> Pool:
    """A connection pool; `search_path` makes a schema's tables resolve unqualified;
    `command_timeout` bounds each statement (asyncpg's TimeoutError past it)."""
    server_settings = {"search_path": search_path} if search_path else None
    pool = await asyncpg.create_pool(
        settings.postgres_dsn(),
        # No floor of idle connections: asyncpg restores a floor in the background and logs a
        # traceback at each failed attempt while the server is away; a pool connects on demand.
        min_size=0,
        max_size=max_size or settings.postgres_pool_size,
        server_settings=server_settings,
        timeout=10,
        command_timeout=command_timeout,
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


INTERNAL_SCHEMA = "aduan_internal"
"""Where what every service of a deployment shares is kept (agencies, the service credential)."""


async def ensure_internal_schema(conn: Connection) -> None:
    """Create the shared internal schema if missing, within the caller's transaction: one
    process at a time (those of several services start together on a fresh database, and two
    CREATE SCHEMA IF NOT EXISTS at once make one fail on the catalog's unique index)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('aduan.internal.schema'))")
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {INTERNAL_SCHEMA}")


async def read(
    pool: Pool, work: Callable[[Connection], Awaitable[T]], seconds: float = DEADLINE_SECONDS
) -> T:
    """`work(conn)` on a pooled connection, or `Unavailable` within `seconds` (within
    `PROBE_SECONDS` while an outage of the database is on: the read is then a probe).

    A refusing or resetting server fails at once. A silent one runs past the deadline: the
    request answers then, and the abandoned work is cancelled and left to end in the background
    (asyncpg cancels the query; the pool terminates the connection after the acquire timeout).
    """
    if OUTAGES.is_down("postgres"):
        seconds = min(seconds, PROBE_SECONDS)

    async def run() -> T:
        async with pool.acquire(timeout=seconds) as conn:
            return await work(conn)

    return await within("postgres", run(), seconds)  # an abandoned read ends in the background


LONG_SECONDS = 20.0
"""The deadline of a read that may take long (many rows), once the store has answered."""


async def read_long(
    pool: Pool, work: Callable[[Connection], Awaitable[T]], seconds: float = LONG_SECONDS
) -> T:
    """A read that may take long (an export, a page of a feed): first a probe under the request
    deadline (a store that is away answers at once), then `work` under `seconds`."""
    await read(pool, lambda conn: conn.fetchval("SELECT true"))
    return await read(pool, work, seconds)


class Prompt:
    """A pool whose every statement answers within the request deadline, else `Unavailable`
    (shared/outages.py): what an endpoint waits on is the server, never its own work between
    statements (a password hash, say)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """As `Pool.fetch`, under the deadline."""
        return await read(self.pool, lambda conn: conn.fetch(query, *args))

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        """As `Pool.fetchrow`, under the deadline."""
        return await read(self.pool, lambda conn: conn.fetchrow(query, *args))

    async def fetchval(self, query: str, *args: Any) -> Any:
        """As `Pool.fetchval`, under the deadline."""
        return await read(self.pool, lambda conn: conn.fetchval(query, *args))

    async def execute(self, query: str, *args: Any) -> str:
        """As `Pool.execute`, under the deadline."""
        return await read(self.pool, lambda conn: conn.execute(query, *args))
