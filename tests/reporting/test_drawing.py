"""Files are drawn beside the event loop: while reporting draws PDFs and workbooks, every other
request is answered as quickly as before; a flood of them is turned away, not queued forever."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from collections.abc import AsyncIterator
from functools import partial

import httpx
import pytest
from fastapi import FastAPI

from services.reporting.app import create_app
from services.reporting.drawing import PER_OFFICER, PUBLIC_AT_MOST, PUBLIC_PER_ADDRESS, drawn
from shared.settings import Settings
from shared.sop import Role
from tests.conftest import serving
from tests.polling import eventually
from tests.reporting.conftest import Away, Desk

YEARS_PDF = "/reporting/v1/rekap/years.pdf?from=2000&to=2029"  # the widest table, anonymous
YEARS_CSV = "/reporting/v1/rekap/years.csv?from=2000&to=2029"


def stranger(http: httpx.AsyncClient, number: int) -> httpx.AsyncClient:
    """A client of the same running reporting from an address of its own (127.0.9.n): each
    address has `PUBLIC_PER_ADDRESS` public files at most."""
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.9.{number}")
    return httpx.AsyncClient(base_url=http.base_url, timeout=30, transport=transport)


def visitor(app: FastAPI, number: int) -> httpx.AsyncClient:
    """An in-process client of a served app from an address of its own (10.0.9.n)."""
    transport = httpx.ASGITransport(app=app, client=(f"10.0.9.{number}", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://aduan.test", timeout=30)


async def timed(http: httpx.AsyncClient, url: str) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    answer = await http.get(url)
    return answer, time.monotonic() - began


async def test_other_requests_are_answered_while_files_are_drawn(away: Away) -> None:
    http = away.desk.http
    # The same run's baseline: how long one file takes alone (the first loads the libraries).
    alone = [await timed(http, YEARS_PDF) for _ in range(4)]
    assert all(answer.status_code == 200 for answer, _ in alone), alone[0][0].text
    drawing = statistics.median(seconds for _, seconds in alone[1:])

    files: list[httpx.Response] = []
    waits: list[float] = []

    async def draw_many() -> None:
        gate = asyncio.Semaphore(PUBLIC_PER_ADDRESS)

        async def one() -> None:
            async with gate:
                files.append((await timed(http, YEARS_PDF))[0])

        await asyncio.gather(*(one() for _ in range(12)))

    drawer = asyncio.create_task(draw_many())
    while not drawer.done():
        answer, seconds = await timed(http, "/healthz")
        assert answer.status_code == 200
        waits.append(seconds)
    await drawer
    assert [answer.status_code for answer in files] == [200] * 12
    assert len(waits) >= 20, f"{len(waits)} probes while 12 files of {drawing:.3f} s were drawn"
    # Drawn on the event loop, each file held the probes sent meanwhile for as long as it took
    # (one in six probes here, 0.12-0.30 s); beside it, a probe waits a few milliseconds.
    slow = statistics.quantiles(waits, n=20)[-1]  # the slowest twentieth
    assert slow < drawing / 4, (
        f"/healthz answered in {slow:.3f} s or more 1 time in 20 (slowest {max(waits):.3f} s) "
        f"while files were drawn; one file alone {drawing:.3f} s"
    )


@pytest.mark.long  # make test-long
async def test_a_flood_of_files_is_turned_away_with_503_not_queued(away: Away) -> None:
    http = away.desk.http
    first = await http.get(YEARS_PDF)
    assert first.status_code == 200, first.text
    strangers = [stranger(http, n) for n in range(PUBLIC_AT_MOST + 16)]
    flood = await asyncio.gather(*(one.get(YEARS_PDF) for one in strangers))
    for one in strangers:
        await one.aclose()
    statuses = [answer.status_code for answer in flood]
    assert statuses.count(200) >= PUBLIC_AT_MOST // 2, statuses
    busy = [answer for answer in flood if answer.status_code == 503]
    assert busy, f"{len(flood)} files at once, all drawn: {statuses}"
    assert {answer.json()["type"] for answer in busy} == {"/problems/drawing-busy"}
    assert all(answer.headers["retry-after"] for answer in busy)
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get(YEARS_PDF)).status_code == 200  # the flood gone, files again


async def test_a_public_file_past_its_places_is_refused_before_it_waits_for_the_database(
    settings: Settings,
) -> None:
    """A public file takes its place in the drawing queue before its figures are read. With
    the public's places taken and every database connection held, one more public file is a
    503 drawing-busy at once: it was a wait for a connection first (a flood of files held the
    connections every other request waited for, and ended as 503 busy after the deadline)."""
    app = create_app(settings)
    async with serving(app) as http:
        pool = app.state.reads
        held = [await pool.acquire() for _ in range(pool.get_max_size())]
        try:
            async with public_places_taken(app) as waiting:
                one_more = await http.get(YEARS_PDF)
                assert one_more.status_code == 503, one_more.text
                assert one_more.json()["type"] == "/problems/drawing-busy"
                assert one_more.headers["retry-after"]
                while held:  # the waiting files read their figures once drawn
                    await pool.release(held.pop())
        finally:
            for connection in held:
                await pool.release(connection)
    assert [answer.result().status_code for answer in waiting] == [200] * PUBLIC_AT_MOST
    assert drawn.queued == 0


async def test_strangers_asking_for_files_in_a_loop_keep_no_officer_export_waiting(
    away: Away,
) -> None:
    """Forty anonymous loops of the widest public PDF: an officer's case export is drawn
    before them each time (their files wait after the officers', and hold a few places only)."""
    desk = away.desk
    stop, refused = threading.Event(), list[int]()
    loop = asyncio.get_running_loop()
    strangers = loop.run_in_executor(None, flood, desk.http, 40, stop, refused)
    try:

        async def flooded() -> bool:
            return bool(refused)

        assert await eventually(flooded, within=30, interval=0.1)
        for _ in range(5):
            began = time.monotonic()
            export = await desk.http.get(
                "/reporting/v1/cases.csv", headers=desk.headers(Role.TIM_PENGADUAN)
            )
            assert export.status_code == 200, export.text
            assert time.monotonic() - began < 5
    finally:
        stop.set()
        await strangers


def flood(http: httpx.AsyncClient, count: int, stop: threading.Event, refused: list[int]) -> None:
    """`count` strangers each asking for the widest public PDF in a loop until `stop`, on this
    thread and an event loop of its own: the test's loop, which carries the proxies to
    PostgreSQL and Redis, stays free to pass their bytes (sharing it, the officer's read waited
    behind forty clients' PDFs in the proxy, past its deadline, on a busy machine)."""

    async def looping(number: int) -> None:
        async with stranger(http, number) as client:
            while not stop.is_set():
                answer = await client.get(YEARS_PDF)
                assert answer.status_code in (200, 503), answer.text
                if answer.status_code == 503:
                    refused.append(number)

    async def everyone() -> None:
        await asyncio.gather(*(looping(number) for number in range(count)))

    asyncio.run(everyone())


async def test_one_officer_has_a_few_files_on_the_way_not_every_place(desk: Desk) -> None:
    """Forty exports asked at once by one analyst held every connection and the drawing
    queue, and other agencies' officers waited or were refused: one more than `PER_OFFICER`
    is a 429 for that officer alone."""
    url = "/reporting/v1/cases.csv"
    analyst, other = desk.headers(Role.ANALIS), desk.headers(Role.TIM_PENGADUAN)
    release = threading.Event()
    drawing = asyncio.ensure_future(drawn(partial(release.wait, 30)))  # the thread taken
    held: list[asyncio.Future[httpx.Response]] = []
    try:
        held = [
            asyncio.ensure_future(desk.http.get(url, headers=analyst)) for _ in range(PER_OFFICER)
        ]

        async def queued(count: int) -> bool:
            return drawn.queued == count

        assert await eventually(partial(queued, 1 + PER_OFFICER))
        one_more = await desk.http.get(url, headers=analyst)
        assert one_more.status_code == 429, one_more.text
        assert one_more.json()["type"] == "/problems/files-per-officer"
        assert one_more.headers["retry-after"]
        held.append(asyncio.ensure_future(desk.http.get(url, headers=other)))
        assert await eventually(partial(queued, 2 + PER_OFFICER))  # in turn, not refused
    finally:
        release.set()
        answers = await asyncio.gather(*held)
        await drawing
    assert [answer.status_code for answer in answers] == [200] * 3
    assert (await desk.http.get(url, headers=analyst)).status_code == 200


async def test_one_address_has_a_few_public_files_on_the_way_not_every_place(
    settings: Settings,
) -> None:
    """One address asking for PDFs in a loop held the public's places: another visitor's file
    was a 503 in turn. Past `PUBLIC_PER_ADDRESS` on the way, that address alone hears 429."""
    app = create_app(settings)
    async with serving(app), visitor(app, 1) as looper, visitor(app, 2) as other:
        release = threading.Event()
        drawing = asyncio.ensure_future(drawn(partial(release.wait, 30)))  # the thread taken
        held: list[asyncio.Future[httpx.Response]] = []
        try:
            held = [asyncio.ensure_future(looper.get(YEARS_PDF)) for _ in range(PUBLIC_PER_ADDRESS)]

            async def queued(count: int) -> bool:  # the service's own recap may be there too
                return drawn.queued >= count

            assert await eventually(partial(queued, 1 + PUBLIC_PER_ADDRESS))
            one_more = await looper.get(YEARS_PDF)
            assert one_more.status_code == 429, one_more.text
            assert one_more.json()["type"] == "/problems/files-per-officer"
            places = drawn.queued
            held.append(asyncio.ensure_future(other.get(YEARS_PDF)))
            assert await eventually(partial(queued, places + 1))  # in turn, not refused
        finally:
            release.set()
            answers = await asyncio.gather(*held)
            await drawing
    assert [answer.status_code for answer in answers] == [200] * (PUBLIC_PER_ADDRESS + 1)


async def test_a_public_table_as_csv_takes_no_place_among_the_files_drawn(
    settings: Settings,
) -> None:
    """With every public place taken by PDFs, a visitor's CSV was a 503 (47 times out of 47
    in a flood from twenty addresses): a public CSV is made at once, with no place."""
    app = create_app(settings)
    async with serving(app), visitor(app, 99) as other, public_places_taken(app) as waiting:
        assert (await other.get(YEARS_PDF)).status_code == 503  # the places taken
        table = await other.get(YEARS_CSV)
        assert table.status_code == 200, table.text
        assert table.headers["content-type"].startswith("text/csv")
    assert [answer.result().status_code for answer in waiting] == [200] * PUBLIC_AT_MOST


@contextlib.asynccontextmanager
async def public_places_taken(
    app: FastAPI,
) -> AsyncIterator[list[asyncio.Future[httpx.Response]]]:
    """Every public place in the drawing queue held by a PDF of a visitor of its own, the
    drawing thread held meanwhile; the PDFs are drawn when the block ends (their answers)."""
    visitors = [visitor(app, n) for n in range(PUBLIC_AT_MOST)]
    release = threading.Event()
    drawing = asyncio.ensure_future(drawn(partial(release.wait, 30)))  # the thread taken
    waiting: list[asyncio.Future[httpx.Response]] = []
    try:
        waiting = [asyncio.ensure_future(one.get(YEARS_PDF)) for one in visitors]

        async def placed() -> bool:  # the service's own recap may be there too
            return drawn.queued >= 1 + PUBLIC_AT_MOST

        assert await eventually(placed)
        yield waiting
    finally:
        release.set()
        await asyncio.gather(*waiting)
        await drawing
        for one in visitors:
            await one.aclose()
