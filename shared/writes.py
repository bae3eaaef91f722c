"""Store calls with a deadline: one that overruns fails with 503, and the service is not ready.

A blocking write (a group commit, an attachment's bytes) runs in a thread; a thread cannot be
stopped, so a write past its deadline is left to finish while its waiters hear 503 at once.
While such a write is still running, or after one overran and then failed, the service reports
itself not ready; a write done in time, or a probe (can a write get through now?), makes it
ready again.

A request's own store calls (a read, an officer's command) go through `call`: the same, under
the request deadline of shared/outages.py, on threads of their own (as many as the store has
connections), answering `Unavailable` when the store is away and logging once per outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from shared.outages import (
    DEADLINE_SECONDS,
    OUTAGES,
    RETRY_AFTER_SECONDS,
    Unavailable,
    answered,
    unreachable,
)
from shared.problems import Problem

log = logging.getLogger(__name__)

T = TypeVar("T")
PROBE_SECONDS = 1.5  # within the 2 s readiness checks are given
CONFIRM_SECONDS = 0.3
"""A save under `call` rolls back unless done this long before its waiter gives up, so that
the commit's answer arrives in time: a 503 then means not written (unless the server goes
silent within these last moments; a retry with the version the officer saw is then a 409)."""
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


class WriterBehind(WriteTimedOut):
    """503: a write waited past its deadline for its turn (the writer is busy, not the store
    away): the same answer, but no sign of an outage."""


class WriteGuard:
    """Runs blocking writes with a deadline and knows whether writing is healthy."""

    def __init__(
        self,
        deadline: float,
        probe: Callable[[], None],
        threads: int = 1,
        sweep: Callable[[], None] | None = None,
    ) -> None:
        """`threads`: how many `call`s may run at once (the store's connections); `sweep`: run
        in the background when `call` finds the store away, to drop the connections it broke
        (otherwise each would fail one request after the store is back)."""
        self.deadline, self._probe, self._sweep = deadline, probe, sweep
        self._sweeping = False
        self._overrunning: set[asyncio.Future[object]] = set()
        self._failed = False  # a write overran and then failed: not ready until one goes through
        # `call`'s threads: a thread blocked on a silent server keeps its slot until psycopg
        # gives up; with every slot taken a request answers 503 without queueing behind them.
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="store")
        self._slots = asyncio.Semaphore(threads)

    @property
    def healthy(self) -> bool:
        """No write is past its deadline, and none failed after overrunning since."""
        return not self._overrunning and not self._failed

    async def run(
        self, write: Callable[[], T], thread: Executor | None = None, due: float | None = None
    ) -> T:
        """The write's result; WriteTimedOut if it is not done within the deadline. `thread`:
        an executor of its own (a writer that must not queue behind other writes' threads);
        `due`: the `time.monotonic()` instant its waiters give up (instead of the deadline from
        now), so that it is known overrunning, and the service not ready, before any of them
        hears its 503."""
        seconds = self.deadline if due is None else max(0.0, due - time.monotonic())
        task = asyncio.get_running_loop().run_in_executor(thread, write)
        done, _ = await asyncio.wait({task}, timeout=seconds)
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

    async def call(
        self, call: Callable[[], T], seconds: float = DEADLINE_SECONDS, due: float | None = None
    ) -> T:
        """A request's blocking store call: its result within `seconds` (AWAY_SECONDS while an
        outage is on), else Unavailable (not done by then, no thread free by then, or failed as
        an unreachable store fails). The first such failure starts an outage (one log line), a
        success ends it. `due`: a save's instant from `due()`, which the wait then follows, so
        that a 503 always comes after the save's own deadline (never before it may commit)."""
        loop = asyncio.get_running_loop()
        if due is None:
            seconds = OUTAGES.deadline("postgres", seconds)
        else:
            seconds = max(0.0, due + CONFIRM_SECONDS - time.monotonic())
        deadline = loop.time() + seconds
        if seconds > 0 and not self._slots.locked():
            await self._slots.acquire()  # a thread free: at once (wait_for's task cost ~40 µs)
        else:  # every thread busy, others waiting first, or no time left (Unavailable at once)
            try:
                await asyncio.wait_for(self._slots.acquire(), seconds)
            except TimeoutError:
                raise self._away("every store connection is waiting on the server") from None
        task = loop.run_in_executor(self._threads, call)
        task.add_done_callback(lambda _: self._slots.release())
        try:
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
        except asyncio.CancelledError:  # the client went away; the thread goes on
            self._overran(task, quiet=True)
            raise
        if not done:
            self._overran(task, quiet=True)
            raise self._away(f"no answer within {seconds:g} s")
        failure = task.exception()
        if failure is not None and (unreachable("postgres", failure) or passed_deadline(failure)):
            raise self._away(failure) from None
        result = task.result()  # any other failure is the caller's
        OUTAGES.up("postgres")
        return result

    def _away(self, reason: object) -> Unavailable:
        OUTAGES.down("postgres", reason)
        if self._sweep is not None and not self._sweeping:
            self._sweeping = True
            sweeping = asyncio.get_running_loop().run_in_executor(None, self._sweep)
            sweeping.add_done_callback(self._swept)
        return Unavailable("postgres")

    def _swept(self, sweeping: asyncio.Future[None]) -> None:
        self._sweeping = False
        if not sweeping.cancelled() and sweeping.exception() is not None:
            log.info("sweeping the store's connections failed: %s", sweeping.exception())

    def close(self) -> None:
        """Let `call`'s threads go (without waiting for one blocked on the server)."""
        self._threads.shutdown(wait=False, cancel_futures=True)

    def due(self, seconds: float | None = None) -> float:
        """For a write run now: the `time.monotonic()` instant past which its save rolls back
        (`seconds`: a `call`'s deadline instead of the write deadline, shortened as `call`'s is
        while an outage is on; give the instant to `call` as its `due`)."""
        if seconds is not None:
            return time.monotonic() + OUTAGES.deadline("postgres", seconds) - CONFIRM_SECONDS
        return time.monotonic() + self.deadline

    def overdue(self) -> WriteTimedOut:
        """The 503 for a waiter whose write is not done in time (the writer is behind)."""
        return WriteTimedOut(self.deadline)

    async def settled(self) -> None:
        """Wait until no write is past its deadline any more (they cannot be cancelled)."""
        while self._overrunning:
            await asyncio.wait(set(self._overrunning))

    async def check(self) -> bool:
        """Readiness: healthy (and no outage of the store on), or a probe write gets through
        now (which ends the outage)."""
        if self.healthy and not OUTAGES.is_down("postgres"):
            return True
        if self._overrunning:
            return False
        try:
            await answered(asyncio.to_thread(self._probe), PROBE_SECONDS)
        except Exception as error:  # noqa: BLE001 - any failure: still not ready
            if isinstance(error, TimeoutError) or unreachable("postgres", error):
                OUTAGES.down("postgres", error)  # said once per outage, not once per probe
            else:
                log.info("write probe failed: %s", error or type(error).__name__)
            return False
        OUTAGES.up("postgres")
        self._failed = bool(self._overrunning)
        return self.healthy

    def _overran(self, task: asyncio.Future[T], quiet: bool = False) -> None:
        """Track a call past its deadline (not ready meanwhile); `quiet`: OUTAGES said it."""
        if not quiet:
            log.warning("a store write overran its %g s deadline", self.deadline)
        future: asyncio.Future[object] = task  # type: ignore[assignment]
        self._overrunning.add(future)

        def finished(done: asyncio.Future[object]) -> None:
            self._overrunning.discard(done)
            failed = done.cancelled() or done.exception() is not None
            if failed:
                self._failed = True
            if not quiet:  # its waiters heard 503; what became of it is this write's own
                outcome = "rolled back or failed" if failed else "committed after its 503"
                log.warning("the overrunning write finished: %s", outcome)

        future.add_done_callback(finished)
