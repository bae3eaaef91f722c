"""Files drawn for a request (PDF, workbook, CSV, chart) on a thread beside the event loop.

Drawing is CPU work: reportlab and openpyxl take a tenth of a second for a 30-year table, and
more as the table grows (a case export holds up to 100,000 rows). Drawn on the event loop, it
held every other request of the process until it ended: the readiness probe, a citizen's
tracking, an officer's worklist (whose reads then ran out their deadline: 503).
On one thread of its own, files are drawn one at a time, in turn, and the loop keeps its share
of the interpreter meanwhile (the drawing thread yields it every few milliseconds). What needs
the printing libraries (a workbook, a PDF, a chart) is made by the press (press.py), a child
process: the drawing thread waits for it, holding its turn.

The turn is a queue of at most `WAITING_AT_MOST` files: past it, a request for a file answers
503 at once instead of waiting behind a flood of them. Files anyone may ask for (the public
rekap) hold at most `PUBLIC_AT_MOST` of those places and take their turn after the officers'
files: strangers asking for PDFs in a loop never keep an officer's export waiting or refused.
A public file takes its place before its figures are read (`PublicPlace`): a flood of them
that read first held the database's connections, so every other request waited for one and
the flood itself ended as 503 busy after the deadline; past its places it is turned away
before it reads. The dashboard's charts (cheap, six to a page) take theirs for the drawing only.
And one officer has at most `PER_OFFICER` files on the way at once, read and drawn (`files_of`):
forty exports asked at once by one analyst held every connection and the drawing queue, and
every other agency's officers waited or were refused meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from services.reporting.press import PressFailed
from shared.limits import PublicReadLimit
from shared.outages import RETRY_AFTER_SECONDS
from shared.problems import Problem
from shared.service import client_address

T = TypeVar("T")
log = logging.getLogger(__name__)

WAITING_AT_MOST = 32
"""Files drawn or waiting their turn at once; a request for one more answers 503."""
PUBLIC_AT_MOST = 8
"""Of those, files asked for without signing in (their turn comes after the officers')."""
PER_OFFICER = 2
"""Files one officer may have on the way at once (read and drawn); one more is a 429."""
PUBLIC_PER_ADDRESS = 6
"""Public files one address may have on the way at once; one more is a 429 (one address
asking for PDFs in a loop held the public's places, and others heard 503). Six: what one
browser sends at once (at two, a visitor opening a few files together heard 429)."""


class Busy(Problem):
    """503: `WAITING_AT_MOST` files are already being drawn or waiting their turn."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "Terlalu banyak berkas sedang disiapkan. Silakan coba lagi sebentar lagi.",
            code="drawing-busy",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class NotDrawn(Problem):
    """503: the press (press.py) did not make the file: its child died or took too long."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "Berkas tidak dapat disiapkan saat ini. Silakan coba lagi sebentar lagi.",
            code="drawing-failed",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class TooManyFiles(Problem):
    """429: this officer (or address) has as many files on the way as it may."""

    def __init__(self, most: int) -> None:
        super().__init__(
            429,
            f"Anda sedang menyiapkan {most} berkas; tunggu hingga selesai, lalu coba lagi.",
            code="files-per-officer",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


_on_the_way: Counter[str] = Counter()


@contextlib.contextmanager
def files_of(officer: str, most: int = PER_OFFICER) -> Iterator[None]:
    """One more file of this officer's (or address's) on the way (in this process) while the
    block runs; TooManyFiles past `most`."""
    if _on_the_way[officer] >= most:
        raise TooManyFiles(most)
    _on_the_way[officer] += 1
    try:
        yield
    finally:
        _on_the_way[officer] -= 1
        if not _on_the_way[officer]:
            del _on_the_way[officer]


class Drawer:
    """The drawing thread and its queue: officers' files first, then the public's, each in
    the order asked."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drawing")
        self._queued = {False: 0, True: 0}  # by public: drawn or waiting
        self._turns: list[tuple[bool, int, asyncio.Future[None]]] = []  # a heap
        self._order = itertools.count()
        self._drawing = False

    @contextlib.contextmanager
    def place(self, *, public: bool = False) -> Iterator[Place]:
        """A place in the queue, held while the block runs: Busy at once if there is none.
        Taken before a file's figures are read, a flood is turned away before it waits for
        the database's connections (and keeps the other requests waiting for them)."""
        if self.queued >= WAITING_AT_MOST or (public and self._queued[True] >= PUBLIC_AT_MOST):
            raise Busy()
        self._queued[public] += 1
        try:
            yield Place(self, public)
        finally:
            self._queued[public] -= 1

    async def __call__(self, draw: Callable[[], T], *, public: bool = False) -> T:
        """`draw()`'s file drawn in its turn, a place taken for it now (an officer's, or a
        public chart: cheap, six to a dashboard, so it takes its place for the drawing only)."""
        with self.place(public=public) as place:
            return await place(draw)

    @property
    def queued(self) -> int:
        """Files drawn or waiting their turn now (their places taken)."""
        return sum(self._queued.values())

    async def _draw(self, draw: Callable[[], T], public: bool) -> T:
        """`draw()`'s file, drawn on the drawing thread in its turn. A request that goes away
        before its turn leaves the queue (its file is not drawn)."""
        await self._turn(public)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, draw)
        except PressFailed as error:
            log.warning("a file was not drawn: %s", error)
            raise NotDrawn() from error
        finally:
            self._next()

    async def _turn(self, public: bool) -> None:
        """Until this request may draw (at once when nothing is drawn)."""
        if not self._drawing:
            self._drawing = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._turns, (public, next(self._order), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._next()  # handed the turn as it went away: the next one takes it
            raise

    def _next(self) -> None:
        """The turn goes to the first still waiting, or the drawing thread is free."""
        while self._turns:
            _, _, turn = heapq.heappop(self._turns)
            if not turn.done():
                turn.set_result(None)
                return
        self._drawing = False


class Place:
    """A place taken in the drawing queue: the file drawn in it, in its turn."""

    def __init__(self, drawer: Drawer, public: bool) -> None:
        self._drawer = drawer
        self._public = public

    async def __call__(self, draw: Callable[[], T]) -> T:
        return await self._drawer._draw(draw, self._public)


drawn = Drawer()


class Inline(Place):
    """No place: the file is made at once, on the event loop (a public table as CSV: a few
    kilobytes, less work than its request)."""

    def __init__(self) -> None:
        super().__init__(drawn, public=True)

    async def __call__(self, draw: Callable[[], T]) -> T:
        return draw()


async def _public_place(request: Request, _limited: PublicReadLimit) -> AsyncIterator[Place]:
    if request.path_params.get("fmt") == "csv":
        yield Inline()  # never refused for PDFs drawn for others
        return
    address = f"address {client_address(request)}"
    with files_of(address, PUBLIC_PER_ADDRESS), drawn.place(public=True) as place:
        yield place


PublicPlace = Annotated[Place, Depends(_public_place, scope="function")]
"""A public file's place in the drawing queue, taken before anything else of its request but
the address's limit (put it first among the endpoint's parameters): past `PUBLIC_AT_MOST`, a
503 before any read; past `PUBLIC_PER_ADDRESS` of the same address, a 429. Given back when the
endpoint returns its file, not once the file is sent (a slow download held a place). A CSV
takes none (`Inline`)."""
