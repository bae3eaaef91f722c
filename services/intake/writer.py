"""Intake's writer: concurrent submissions group-committed, each with a deadline.

While one save runs, the next requests queue up and go into the following
`Application.save(*aggregates)` together, one transaction for all.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from eventsourcing.persistence import IntegrityError

from services.intake.records import Rows
from services.intake.store import Outcome, Pending, Submissions
from shared.metrics import EVENTS_STORED
from shared.outages import unreachable
from shared.settings import Settings
from shared.tracking_code import new_code
from shared.writes import CONFIRM_SECONDS, WriteGuard, WriterBehind, passed_deadline

log = logging.getLogger(__name__)

DEADLINE_SECONDS = Settings.model_fields["write_deadline_seconds"].default


class Writer:
    """Group-commits pending submissions; `write` returns once the submission is durable.

    A waiter hears 503 when its commit is not done within the guard's deadline; a batch that
    gets through its statements only after that rolls back instead of committing, and a
    commit already under way at that instant is waited for a moment more (`CONFIRM_SECONDS`;
    one slower still can land after its 503, and a retry with the same Idempotency-Key finds
    it). The writer waits for an overrunning commit to end before it starts the next one.
    """

    def __init__(self, app: Submissions, guard: WriteGuard | None = None, max_batch: int = 500):
        self.app, self.max_batch = app, max_batch
        self.guard = guard or WriteGuard(DEADLINE_SECONDS, app.probe)
        # Its own thread: a commit never waits behind attachments' writes for a worker.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="intake-writer")
        self._queue: asyncio.Queue[tuple[Pending, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._due: float | None = None  # of the batch being committed
        self._committing: set[asyncio.Future[Outcome]] = set()  # its waiters

    @property
    def waiting(self) -> int:
        """How many submissions wait for a commit to take them."""
        return self._queue.qsize()

    async def write(self, pending: Pending) -> Outcome:
        """Queue a submission for the next commit and wait until it is committed (or 503)."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        pending.due = time.monotonic() + self.guard.deadline
        await self._queue.put((pending, future))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.guard.deadline)
        except TimeoutError:
            if future.done():
                return future.result()
            if future in self._committing:  # its batch is due no later: its answer is coming
                return await asyncio.shield(future)
            future.cancel()  # not taken into a batch yet: it never will be
            raise WriterBehind(self.guard.deadline) from None

    async def run(self) -> None:
        """Commit whatever is queued, batch after batch, until cancelled."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = [(item, future) for item, future in batch if not future.done()]
            if batch:
                self._committing = {future for _, future in batch}
                try:
                    await self._commit_batch(batch)
                finally:
                    self._committing = set()

    async def _commit_batch(self, batch: list[tuple[Pending, asyncio.Future[Outcome]]]) -> None:
        pending = [item for item, _ in batch]
        due = min(item.due or math.inf for item in pending)
        # Its statements roll back past `due`; a COMMIT already under way then still lands, and
        # is waited for `CONFIRM_SECONDS` more (as `WriteGuard.call` does): a waiter given up
        # at `due` heard 503 "not confirmed" for a submission that was stored.
        confirmed = None if math.isinf(due) else due + CONFIRM_SECONDS
        try:
            outcomes = await self.guard.run(
                partial(self.settle, pending, due), self._thread, confirmed
            )
        except Exception as failure:  # noqa: BLE001 - every waiter hears of the failure
            log.warning("commit of %d submissions failed: %s", len(batch), failure)
            error = self.guard.overdue() if time.monotonic() > due else failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            await self.guard.settled()  # an overrunning commit ends before the next starts
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Outcome):
                future.set_result(outcome)
            else:  # this submission's own failure; the others committed
                late = passed_deadline(outcome) or time.monotonic() > due
                future.set_exception(self.guard.overdue() if late else outcome)

    def commit(self, batch: list[Pending], due: float | None = None) -> list[Outcome]:
        """Store a batch (see `settle`), raising the first submission's failure; blocking."""
        outcomes = self.settle(batch, due)
        for outcome in outcomes:
            if not isinstance(outcome, Outcome):
                raise outcome
        return [outcome for outcome in outcomes if isinstance(outcome, Outcome)]

    def settle(self, batch: list[Pending], due: float | None = None) -> list[Outcome | Exception]:
        """Store a batch in one transaction; blocking. If that fails, one at a time: a repeat is
        answered from the index, and a submission the store refuses (its data, say) gets its own
        error while the others commit. A store away or past its deadline fails the whole batch.
        Past `due` (a `time.monotonic()` instant) it rolls back instead of committing."""
        self._due = due
        if len(batch) > 1:
            try:
                self._save(batch)
            except IntegrityError:
                return self._commit_after_conflict(batch)
            except Exception as failure:
                if not _own(failure):
                    raise
                log.warning(
                    "commit of %d submissions failed, one at a time: %s", len(batch), failure
                )
                return [self._commit_alone(item) for item in batch]
            return [Outcome(item.index_row(), replayed=False) for item in batch]
        return [self._commit_alone(batch[0])]

    def _commit_after_conflict(self, batch: list[Pending]) -> list[Outcome | Exception]:
        """Answer the repeats from the index; commit the rest together again if possible."""
        stored = self.app.find_many([item.case_id for item in batch])
        fresh = [item for item in batch if item.case_id not in stored]
        committed: dict[int, Outcome | Exception]
        try:
            if fresh:
                self._save(fresh)
            committed = {id(item): Outcome(item.index_row(), replayed=False) for item in fresh}
        except Exception as failure:  # a repeat within the batch, a tracking-code collision,
            if not _own(failure):  # or one submission the store refuses
                raise
            committed = {id(item): self._commit_alone(item) for item in fresh}
        return [
            committed.get(id(item)) or Outcome(stored[item.case_id], replayed=True)
            for item in batch
        ]

    def _commit_alone(self, item: Pending) -> Outcome | Exception:
        """One submission's commit, or the failure that is its own."""
        try:
            return self._commit_one(item)
        except Exception as failure:
            if not _own(failure):
                raise
            log.warning("submission %s refused by the store: %s", item.case_id, failure)
            return failure

    def _commit_one(self, item: Pending) -> Outcome:
        for _ in range(5):
            try:
                self._save([item])
            except IntegrityError:
                existing = self.app.find(item.case_id)
                if existing is not None:
                    return Outcome(existing, replayed=True)
                item.code = new_code()  # the rare tracking-code collision
                continue
            return Outcome(item.index_row(), replayed=False)
        raise RuntimeError("could not allocate a unique tracking code")

    def _save(self, batch: list[Pending]) -> None:
        self.app.save(
            *(item.aggregate() for item in batch),
            deadline=self._due,
            index=[item.index_row() for item in batch],
            keys=[item.key for item in batch],
            rows=Rows.merge(item.rows for item in batch),
        )
        EVENTS_STORED.labels("intake").inc(len(batch))


def _own(failure: BaseException) -> bool:
    """Whether a failed save may be the submission's own doing (its data refused), rather than
    the store away or the deadline passed, which no retry one at a time would get past."""
    return not (passed_deadline(failure) or unreachable("postgres", failure))
