"""Officers' commands saved together: the saves that arrive while one is being written go into
the next transaction, one table lock and one commit for them all (a group commit).

A batch that conflicts (two commands on the same case, or a case saved meanwhile by the
consumer or the clock) is written again one save at a time, so that only the stale one hears
its conflict. The events are collected from the aggregates before the first attempt: a failed
attempt leaves nothing to collect again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError


@dataclass
class Write:
    """One command's save: its new events, its cases' alarms and files, its deadline."""

    events: Sequence[DomainEventProtocol[UUID]]
    alarms: Sequence[Any]
    attachments: Sequence[Any]
    deadline: float | None
    failure: BaseException | None = field(
        default_factory=lambda: RuntimeError("the save was not written")
    )  # None once written


class GroupCommit:
    """Writes the saves of concurrent commands (each in its own thread) in shared transactions."""

    def __init__(self, save: Callable[[Sequence[Write]], None]) -> None:
        """`save`: stores the writes it is given in one transaction (raising if it cannot)."""
        self._save = save
        self._queue: list[Write] = []
        self._queued = threading.Lock()
        self._writing = threading.Lock()

    def write(self, write: Write) -> None:
        """Store this write, in a transaction with those queued meanwhile; its failure raised."""
        with self._queued:
            self._queue.append(write)
        with self._writing:  # the writer before us took ours along, or we take the queue
            with self._queued:
                batch, self._queue = self._queue, []
            if batch:
                self._flush(batch)
        if write.failure is not None:
            raise write.failure

    def _flush(self, batch: list[Write]) -> None:
        try:
            self._save(batch)
            for write in batch:
                write.failure = None
        except IntegrityError as conflict:
            if len(batch) == 1:
                batch[0].failure = conflict
                return
            for write in batch:  # the stale one alone hears its conflict
                self._flush([write])
        except Exception as failure:  # noqa: BLE001 - each waiter hears the store's failure
            for write in batch:
                write.failure = failure
