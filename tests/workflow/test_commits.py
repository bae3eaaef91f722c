"""The group commit of officers' commands, alone: who is saved with whom, who hears what."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from services.workflow.commits import GroupCommit, Write


def _write(*events: Any) -> Write:
    return Write(events=events, alarms=(), attachments=(), deadline=None)


def _queued(commit: GroupCommit, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(commit._queue) < count:  # what waits for the writer
        assert time.monotonic() < deadline, "the writes were not queued"
        time.sleep(0.01)


def test_saves_arriving_during_a_write_share_the_next_transaction() -> None:
    batches: list[list[Any]] = []
    writing, release = threading.Event(), threading.Event()

    def save(writes: Sequence[Write]) -> None:
        batches.append([event for write in writes for event in write.events])
        if len(batches) == 1:
            writing.set()
            release.wait(5)

    commit = GroupCommit(save)
    first = threading.Thread(target=commit.write, args=(_write("a"),))
    first.start()
    assert writing.wait(5)
    others = [threading.Thread(target=commit.write, args=(_write(e),)) for e in "bcd"]
    for thread in others:
        thread.start()
    _queued(commit, 3)
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert batches[0] == ["a"]
    assert sorted(batches[1]) == ["b", "c", "d"]


def test_a_conflict_in_a_batch_fails_only_its_own_write() -> None:
    def save(writes: Sequence[Write]) -> None:
        if any("stale" in list(map(str, write.events)) for write in writes):
            raise IntegrityError("duplicate version")

    commit, outcomes = GroupCommit(save), {}
    commit._writing.acquire()  # a write under way: the next ones queue

    def run(name: str) -> None:
        try:
            commit.write(_write(name))
            outcomes[name] = "saved"
        except IntegrityError:
            outcomes[name] = "conflict"

    threads = [threading.Thread(target=run, args=(name,)) for name in ("x", "stale", "y")]
    for thread in threads:
        thread.start()
    _queued(commit, 3)
    commit._writing.release()
    for thread in threads:
        thread.join(5)
    assert outcomes == {"x": "saved", "stale": "conflict", "y": "saved"}


def test_a_store_failure_reaches_every_write_of_the_batch() -> None:
    def save(writes: Sequence[Write]) -> None:
        raise OSError("server away")

    with pytest.raises(OSError, match="away"):
        GroupCommit(save).write(_write("a"))
