"""Store writes with a deadline: one that overruns fails with 503, and the service is not ready.

A blocking write (a group commit, an attachment's bytes) runs in a thread; a thread cannot be
stopped, so a write past its deadline is left to finish while its waiters hear 503 at once.
While such a write is still running, or after one overran and then failed, the service reports
itself not ready; a write done in time, or a probe (can a write get through now?), makes it
ready again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

from shared.outages import RETRY_AFTER_SECONDS
from shared.problems import Problem

log = logging.getLogger(__name__)

T = TypeVar("T")
PROBE_SECONDS = 1.5  # within the 2 s readiness checks are given
DEADLINE_SQLSTATE = "AD001"
"""What a save raises on the server when it got through only after its deadline (rolled back)."""


def passed_deadline(error: BaseException) -> bool:
    """Whether a store error is a save rolled back for having passed its deadline."""
    cause = error if hasattr(error, "sqlstate") else error.__cause__
    return getattr(cause, "sqlstate", None) == DEADLINE_SQLSTATE


class WriteTimedOut(Problem):
    """503: the store did not finish a write within the deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            503,
            f"Penyimpanan tidak selesai menulis dalam {seconds:g} detik; data belum dapat "
            "dipastikan tersimpan. Silakan coba lagi beberapa saat lagi.",
            code="write-timeout",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class WriteGuard:
    """Runs blocking writes with a deadline and knows whether writing is healthy."""

    def __init__(self, deadline: float, probe: Callable[[], None]) -> None:
        self.deadline, self._probe = deadline, probe
        self._overrunning: set[asyncio.Future[object]] = set()
        self._failed = False  # a write overran and then failed: not ready until one goes through

    @property
    def healthy(self) -> bool:
        """No write is past its deadline, and none failed after overrunning since."""
        return not self._overrunning and not self._failed

    async def run(self, write: Callable[[], T], thread: Executor | None = None) -> T:
        """The write's result; WriteTimedOut if it is not done within the deadline. `thread`:
        an executor of its own (a writer that must not queue behind other writes' threads)."""
        task = asyncio.get_running_loop().run_in_executor(thread, write)
        done, _ = await asyncio.wait({task}, timeout=self.deadline)
        if not done:
            self._overran(task)
            raise WriteTimedOut(self.deadline)
        failure = task.exception()
        if failure is not None and passed_deadline(failure):
            self._failed = True  # it overran after all; the readiness probe clears this
            raise WriteTimedOut(self.deadline) from None
        if not self._overrunning:
            self._failed = False
        return task.result()

    def due(self) -> float:
        """For a write run now: the `time.monotonic()` instant past which its save rolls back."""
        return time.monotonic() + self.deadline

    def overdue(self) -> WriteTimedOut:
        """The 503 for a waiter whose write is not done in time (the writer is behind)."""
        return WriteTimedOut(self.deadline)

    async def settled(self) -> None:
        """Wait until no write is past its deadline any more (they cannot be cancelled)."""
        while self._overrunning:
            await asyncio.wait(set(self._overrunning))

    async def check(self) -> bool:
        """Readiness: healthy, or a probe write gets through now."""
        if self.healthy:
            return True
        if self._overrunning:
            return False
        try:
            await asyncio.wait_for(asyncio.to_thread(self._probe), PROBE_SECONDS)
        except Exception as error:  # noqa: BLE001 - any failure: still not ready
            log.info("write probe failed: %s", error or type(error).__name__)
            return False
        self._failed = bool(self._overrunning)
        return self.healthy

    def _overran(self, task: asyncio.Future[T]) -> None:
        log.warning("a store write overran its %g s deadline", self.deadline)
        future: asyncio.Future[object] = task  # type: ignore[assignment]
        self._overrunning.add(future)

        def finished(done: asyncio.Future[object]) -> None:
            self._overrunning.discard(done)
            if done.cancelled() or done.exception() is not None:
                self._failed = True
            log.warning("the overrunning write finished (failed: %s)", self._failed)

        future.add_done_callback(finished)
