"""Rebuild: re-project everything from the producers' notification logs into fresh tables,
then swap them in atomically while the service keeps answering.

The feeds (not the broker) are read from the start into memory with the same pure projectors
the live consumer uses, written with COPY, caught up under the swap lock (the live consumer
waits for it), and the schemas renamed in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from tqdm import tqdm

from services.reporting.projection import (
    COLUMNS,
    CUBES,
    HistoryEntry,
    StepTime,
    Survey,
    row_values,
)
from services.reporting.read_model import SWAP_LOCK, ReadModel, survey_row
from services.reporting.working_set import WorkingSet
from shared import db
from shared.events import Envelope, encode
from shared.feed import CREDENTIAL_HEADER, decode_page, service_credential
from shared.settings import Settings

PRODUCERS = ("intake", "workflow", "reporting")
PAGE = 2000
COPIERS = 4
"""Connections the rows are copied in over, one table on each at a time."""
SCHEMA_SQL = "schema.sql"


def tables(working: WorkingSet) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """Each table's columns and rows, as the live tables hold them."""
    counts = working.cube_counts()
    cubes = {
        cube.table: (
            ("agency", *cube.dimensions, "count"),
            list(map(_with_count, counts[cube.table].items())),
        )
        for cube in CUBES
    }
    return cubes | {
        "case_summary": (
            COLUMNS,
            list(map(row_values, working.cases.values())),
        ),
        "step_times": (
            tuple(StepTime.__dataclass_fields__),
            [tuple(vars(step).values()) for step in working.steps.values()],
        ),
        "case_history": (
            tuple(HistoryEntry.__dataclass_fields__),
            [tuple(vars(entry).values()) for entry in working.history.values()],
        ),
        "surveys": (
            tuple(Survey.__dataclass_fields__),
            [tuple(survey_row(s)) for s in working.surveys.values()],
        ),
        "calendar_days": (
            ("agency", "day", "working", "label"),
            [
                (d.agency, d.day, d.working, d.label)
                for d in working.calendar.values()
                if d.working is not None
            ],
        ),
        "stream_positions": (
            ("source", "subject", "version"),
            [(source, subject, v) for (source, subject), v in working.positions.items()],
        ),
        "pending_events": (
            ("source", "subject", "version", "body"),
            [
                (*stream, v, encode(e))
                for stream, by in working.pending.items()
                for v, e in by.items()
            ],
        ),
    }


def _with_count(item: tuple[tuple[Any, ...], int]) -> tuple[Any, ...]:
    return (*item[0], item[1])


@dataclass
class Report:
    """What a rebuild did."""

    schema: str
    events: int
    cases: int
    seconds: float
    caught_up: int = 0


async def fetch_page(http: httpx.AsyncClient, url: str, after: int) -> bytes:
    """One page of a producer's feed, as it came (`shared.feed.decode_page` reads it)."""
    answer = await http.get(f"{url}/internal/v1/events", params={"after": after, "limit": PAGE})
    answer.raise_for_status()
    return answer.content


async def read_feed(http: httpx.AsyncClient, url: str, after: int) -> tuple[list[Envelope], int]:
    """One page of a producer's feed: its events and where the next page starts."""
    return decode_page(await fetch_page(http, url, after))


def _apply_all(working: WorkingSet, envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        working.apply(envelope)


async def heads(http: httpx.AsyncClient, settings: Settings) -> dict[str, int]:
    """The newest notification id of each producer (asked of all at once)."""

    async def head(producer: str) -> int:
        answer = await http.get(f"{settings.service_url(producer)}/internal/v1/head")
        answer.raise_for_status()
        return int(answer.json()["head"])

    return dict(zip(PRODUCERS, await asyncio.gather(*map(head, PRODUCERS)), strict=True))


async def project_all(
    http: httpx.AsyncClient, settings: Settings, working: WorkingSet, *, progress: bool
) -> tuple[dict[str, int], int]:
    """Read every producer's feed up to its current head into memory; positions and count.

    The producers are read at once, each a page ahead of what is applied: they serve in
    their own processes while this one applies, and serving is most of a read (one producer
    after the other, the rebuild took about twice as long). Each producer's pages are applied
    in their order; between producers the order does not matter, as for the live consumer.
    """
    targets = await heads(http, settings)
    # Only when shown: a tqdm, even disabled, makes a multiprocessing lock (20 ms).
    bar = tqdm(total=sum(targets.values()), unit="ev", desc="rebuild") if progress else None
    positions, count = dict.fromkeys(targets, 0), 0
    pages: dict[asyncio.Future[bytes], tuple[str, int]] = {}

    def fetch(producer: str, after: int) -> None:
        page = asyncio.ensure_future(fetch_page(http, settings.service_url(producer), after))
        pages[page] = (producer, after)

    for producer, head in targets.items():
        if head > 0:
            fetch(producer, 0)
    try:
        while pages:
            done, _ = await asyncio.wait(pages, return_when=asyncio.FIRST_COMPLETED)
            for page in done:
                producer, after = pages.pop(page)
                envelopes, following = decode_page(page.result())
                if following != after and following < targets[producer]:
                    fetch(producer, following)  # asked for before this one is applied
                # Applied in a thread: meanwhile the event loop asks for the next pages and
                # the producers serve them.
                await asyncio.to_thread(_apply_all, working, envelopes)
                if bar is not None:
                    bar.update(following - after)
                count += len(envelopes)
                positions[producer] = following
    finally:
        for page in pages:
            page.cancel()
    if bar is not None:
        bar.close()
    return positions, count


async def create(conn: db.Connection, schema: str) -> None:
    """A fresh schema with the read model's tables, empty."""
    ddl = resources.files("services.reporting").joinpath(SCHEMA_SQL).read_text()
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.execute(f'SET search_path TO "{schema}"')
    await conn.execute(ddl)


async def copiers(settings: Settings) -> db.Pool:
    """The connections `fill` copies over, connected now (while the feeds are read, say)."""
    pool = await db.create_pool(settings, max_size=COPIERS)
    try:
        connections = await asyncio.gather(*(pool.acquire() for _ in range(COPIERS)))
        await asyncio.gather(*map(pool.release, connections))
    except BaseException:
        await pool.close()
        raise
    return pool


async def _closed(connecting: asyncio.Future[db.Pool]) -> None:
    """Close the pool `copiers` made, or stop it being made."""
    if not connecting.done():
        connecting.cancel()
        await asyncio.wait({connecting})
    if not connecting.cancelled() and connecting.exception() is None:
        await connecting.result().close()


async def fill(pool: db.Pool, schema: str, working: WorkingSet) -> None:
    """COPY the working set's rows into the fresh schema's tables, each table on its own
    connection of `copiers`, at once: one after the other, the COPYs were a fifth of a
    rebuild."""

    async def copy(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        async with pool.acquire() as conn:
            await conn.copy_records_to_table(
                table, records=rows, columns=list(columns), schema_name=schema
            )

    async with asyncio.TaskGroup() as copies:
        for table, (columns, rows) in tables(working).items():
            if rows:
                copies.create_task(copy(table, columns, rows))


async def write(settings: Settings, conn: db.Connection, schema: str, working: WorkingSet) -> None:
    """Create the tables in a fresh schema and COPY the rows in."""
    await create(conn, schema)
    pool = await copiers(settings)
    try:
        await fill(pool, schema, working)
    finally:
        await pool.close()


async def catch_up(
    http: httpx.AsyncClient, settings: Settings, conn: db.Connection, positions: dict[str, int]
) -> int:
    """Apply what the producers stored since the bulk read, with the live rules."""
    model, applied = ReadModel(settings.timezone), 0
    for producer, after in positions.items():
        while True:
            envelopes, following = await read_feed(http, settings.service_url(producer), after)
            applied += len(await model.apply_batch(conn, envelopes))
            if following == after:
                break
            after = following
    return applied


@contextlib.contextmanager
def _bulk() -> Iterator[None]:
    """No cycle collection while the working set is built and written: it only grows, and each
    full collection would walk all of it again (a third of the time at 20,000 events). After,
    what was built meanwhile is frozen rather than walked by the first collection (a tenth of a
    rebuild at 20,000 events); reference counts free it, and `rebuild` unfreezes the rest."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


async def swap(conn: db.Connection, live: str, fresh: str) -> None:
    """Put the fresh schema in the live one's place, in one transaction."""
    retired = f"{live}_retired_{int(time.time())}"
    async with conn.transaction():
        await conn.execute(f'ALTER SCHEMA "{live}" RENAME TO "{retired}"')
        await conn.execute(f'ALTER SCHEMA "{fresh}" RENAME TO "{live}"')
        await conn.execute(f'DROP SCHEMA "{retired}" CASCADE')


async def rebuild(
    settings: Settings, *, live: str = "reporting", swap_in: bool = True, progress: bool = False
) -> Report:
    """Rebuild the read model; with swap_in, replace the live one (else leave it beside it)."""
    started, fresh = time.perf_counter(), f"{live}_rebuild_{int(time.time() * 1000)}"
    working = WorkingSet(ZoneInfo(settings.timezone))
    conn = await db.connect(settings)
    try:
        credential = {CREDENTIAL_HEADER: await service_credential(settings, conn)}
        async with httpx.AsyncClient(timeout=60, headers=credential) as http:
            try:
                with _bulk():
                    # The empty tables are made, and the copiers connected, while the feeds
                    # are read.
                    created = asyncio.ensure_future(create(conn, fresh))
                    connected = asyncio.ensure_future(copiers(settings))
                    try:
                        try:
                            positions, count = await project_all(
                                http, settings, working, progress=progress
                            )
                        finally:
                            await created
                        await fill(await connected, fresh, working)
                    finally:
                        await _closed(connected)
                report = Report(fresh, count, len(working.cases), 0.0)
                if swap_in:
                    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", SWAP_LOCK)
                    report.caught_up = await catch_up(http, settings, conn, positions)
                    await swap(conn, live, fresh)
                    report.schema = live
            except BaseException:
                with contextlib.suppress(Exception):  # a rebuild that failed leaves nothing
                    await conn.execute(f'DROP SCHEMA IF EXISTS "{fresh}" CASCADE')
                raise
    finally:
        await conn.close()
    report.seconds = time.perf_counter() - started
    del working  # freed by reference counts (it holds no cycles)
    gc.unfreeze()  # what remains is the process's own, collected as before
    return report
