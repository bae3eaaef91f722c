"""Files drawn for a request (PDF, workbook, CSV, chart) on a thread beside the event loop.

Drawing is CPU work: reportlab and openpyxl take a tenth of a second for a 30-year table, and
more as the table grows (a case export holds up to 100,000 rows). Drawn on the event loop, it
held every other request of the process until it ended: the readiness probe, a citizen's
tracking, an officer's worklist (whose reads then ran out their deadline: 503).
On one thread of its own, files are drawn one at a time, in turn, and the loop keeps its share
of the interpreter meanwhile (the drawing thread yields it every few milliseconds).

The turn is a queue of at most `WAITING_AT_MOST` files: past it, a request for a file answers
503 at once instead of waiting behind a flood of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from shared.outages import RETRY_AFTER_SECONDS
from shared.problems import Problem

T = TypeVar("T")

WAITING_AT_MOST = 32
"""Files drawn or waiting their turn at once; a request for one more answers 503."""


class Busy(Problem):
    """503: `WAITING_AT_MOST` files are already being drawn or waiting their turn."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "Terlalu banyak berkas sedang disiapkan. Silakan coba lagi sebentar lagi.",
            code="drawing-busy",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class Drawer:
    """The drawing thread and its queue."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drawing")
        self._queued = 0

    async def __call__(self, draw: Callable[[], T]) -> T:
        """`draw()`'s file, drawn on the drawing thread in its turn. A request that goes away
        before its turn leaves the queue (its file is not drawn)."""
        if self._queued >= WAITING_AT_MOST:
            raise Busy()
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, draw)
        finally:
            self._queued -= 1


drawn = Drawer()
