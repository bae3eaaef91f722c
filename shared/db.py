"""PostgreSQL helpers every service uses: typed aliases, creating the database and schemas,
reading under a deadline (on a read replica with the primary behind it: `Replicated`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg

from shared.metrics import REPLICA_FALLBACKS, REPLICA_UP
from shared.outages import DEADLINE_SECONDS, OUTAGES, answered, unreachable, within
from shared.settings import Settings

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:  # asyncpg's classes are generic only in their type stubs
    Connection, Pool = asyncpg.Connection, asyncpg.Pool

T = TypeVar("T")
log = logging.getLogger(__name__)


async def connect(
    settings: Settings, *, replica: bool = False, **kwargs: Any
) -> asyncpg.Connection[asyncpg.Record]:
    """One connection to the deployment's database (on its read replica: `replica`)."""
    return await asyncpg.connect(settings.postgres_dsn(replica=replica), timeout=10, **kwargs)


async def create_pool(
    settings: Settings,
    *,
    search_path: str | None = None,
    max_size: int | None = None,
    command_timeout: float | None = None,
    replica: bool = False,
) -> Pool:
    """A connection pool; `search_path` makes a schema's tables resolve unqualified;
    `command_timeout` bounds each statement (asyncpg's TimeoutError past it); `replica`: on
    the read replica."""
    server_settings = {"search_path": search_path} if search_path else None
    pool = await asyncpg.create_pool(
        settings.postgres_dsn(replica=replica),
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


STARTING_EVERY = 1.0
"""How often a service that starts while the database is away tries it again."""


async def reachable(settings: Settings) -> None:
    """Return once the database answers (created if need be): a service started while it is
    away (the machine booting, the server restarting) waits for it, saying so once, instead of
    exiting for its supervisor to start it again after a back-off."""
    waited = False
    while True:
        try:
            await ensure_database(settings)
        except Exception as error:
            if not unreachable("postgres", error):
                raise  # not away: wrong settings, which no waiting mends
            if not waited:
                log.warning(
                    "PostgreSQL cannot be reached (%s); waiting for it", type(error).__name__
                )
            waited = True
            await asyncio.sleep(STARTING_EVERY)
            continue
        if waited:
            log.warning("PostgreSQL is back; starting")
        return


@contextlib.asynccontextmanager
async def setup_lock(settings: Settings, name: str, *, wait: bool = False) -> AsyncIterator[None]:
    """Serialise a service's start-up DDL across processes (CREATE ... IF NOT EXISTS races);
    `wait`: for a database that is away (see `reachable`), else fail at once (a command)."""
    await (reachable(settings) if wait else ensure_database(settings))
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


REPLICA_AWAY: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # a connection the server closed
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, still recovering
    asyncpg.InvalidCatalogNameError,  # the database not replayed yet
)
"""How a read replica shows it is away: reads go to the primary until a probe finds it back."""
REPLICA_BEHIND: tuple[type[BaseException], ...] = (
    asyncpg.SerializationError,  # a read the standby cancelled to replay (conflict with recovery)
    asyncpg.UndefinedTableError,  # a table the primary made that the replica has not replayed
)
"""How a read replica shows it cannot answer one read: that read runs again on the primary."""
REPLICA_PROBE_SECONDS = 1.0


class Replicated:
    """Read-only work on a streaming replica of the primary (deploy/README.md), or on the primary
    while the replica is away: found away by a read or by the probe (`watch`), and back only by
    the probe. Only work that writes nothing: a read may run again on the primary."""

    def __init__(self, settings: Settings, primary: Pool, replica: Pool) -> None:
        self.settings, self.primary, self.replica = settings, primary, replica
        self.name = f"{settings.postgres_replica_host}:{settings.postgres_replica_port}"
        self.away = False
        self._probe: asyncpg.Connection[asyncpg.Record] | None = None
        REPLICA_UP.labels(self.name).set(1)

    async def run(self, work: Callable[[Connection], Awaitable[T]], seconds: float) -> T:
        """`work(conn)` on the replica; on the primary while it is away or if it fails."""
        if not self.away:
            try:
                async with self.replica.acquire(timeout=seconds) as conn:
                    return await work(conn)
            except REPLICA_AWAY as error:
                self.down(error)
            except REPLICA_BEHIND as error:
                log.info("read replica %s cannot answer a read (%s): on the primary", self, error)
        REPLICA_FALLBACKS.inc()
        async with self.primary.acquire(timeout=seconds) as conn:
            return await work(conn)

    def down(self, reason: object) -> None:
        """The replica failed: reads go to the primary (logged once) until a probe finds it."""
        if not self.away:
            self.away = True
            REPLICA_UP.labels(self.name).set(0)
            log.warning("read replica %s away (%s); reading from the primary", self, reason)

    async def probe(self) -> bool:
        """Whether the replica answers now, on a connection of its own; it is away or back."""
        try:
            await answered(self._ask(), REPLICA_PROBE_SECONDS)
        except Exception as error:  # noqa: BLE001 - any failure: away
            if self._probe is not None:
                self._probe.terminate()  # it may be mid-query: never used again
                self._probe = None
            self.down(error if str(error) else type(error).__name__)
            return False
        if self.away:
            self.away = False
            REPLICA_UP.labels(self.name).set(1)
            log.warning("read replica %s back; reading from it again", self)
        return True

    async def _ask(self) -> None:
        if self._probe is None or self._probe.is_closed():
            self._probe = await connect(self.settings, replica=True)
        await self._probe.fetchval("SELECT true")

    async def watch(self, every: float = 1.0) -> None:
        """Probe the replica every `every` seconds until cancelled."""
        while True:
            await self.probe()
            await asyncio.sleep(every)

    async def close(self) -> None:
        """Close the replica's connections (the primary's pool is its owner's to close)."""
        if self._probe is not None:
            self._probe.terminate()
        await self.replica.close()

    def __str__(self) -> str:
        return self.name


Source: TypeAlias = "Pool | Replicated"
"""Where `read` takes a connection: a pool, or a replica with the primary behind it."""


async def create_reads(settings: Settings, primary: Pool, **options: Any) -> Source:
    """Where read-only work goes: the read replica, if one is configured (with the primary
    behind it; `options` as `create_pool`'s), else the primary's pool itself."""
    if not settings.postgres_replica_host:
        return primary
    replica = await create_pool(settings, replica=True, **options)
    return Replicated(settings, primary, replica)


async def read(
    pool: Source, work: Callable[[Connection], Awaitable[T]], seconds: float = DEADLINE_SECONDS
) -> T:
    """`work(conn)` on a pooled connection, or `Unavailable` within `seconds` (within
    `AWAY_SECONDS` while an outage of the database is on: the read is then a probe).

    A refusing or resetting server fails at once. A silent one runs past the deadline: the
    request answers then, and the abandoned work is cancelled and left to end in the background
    (asyncpg cancels the query; the pool terminates the connection after the acquire timeout).
    """
    seconds = OUTAGES.deadline("postgres", seconds)
    connected = False

    async def connected_work(conn: Connection) -> T:
        nonlocal connected
        connected = True
        return await work(conn)

    async def run() -> T:
        if isinstance(pool, Replicated):
            return await pool.run(connected_work, seconds)
        async with pool.acquire(timeout=seconds) as conn:
            return await connected_work(conn)

    def busy() -> bool:
        """Still waiting for a connection, every one of the pool's taken (by requests that
        each find out on their own whether the server answers): busy, not away (unless the
        server is known away: then they are taken by reads it does not answer)."""
        if connected or OUTAGES.is_down("postgres"):
            return False
        if isinstance(pool, Replicated):
            return _all_taken(pool.primary if pool.away else pool.replica)
        return isinstance(pool, asyncpg.Pool) and _all_taken(pool)

    # An abandoned read ends in the background.
    return await within("postgres", run(), seconds, busy)


def _all_taken(pool: Pool) -> bool:
    return pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size()


LONG_SECONDS = 20.0
"""The deadline of a read that may take long (many rows), once the store has answered."""


async def read_long(
    pool: Source, work: Callable[[Connection], Awaitable[T]], seconds: float = LONG_SECONDS
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
