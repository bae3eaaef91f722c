"""Consumer processes of the partition tests (tests/partition_worker.py), the load they take,
and what they recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from shared.events import Envelope
from shared.events import workflow as wf
from shared.settings import Settings
from tests.infrastructure import environment
from tests.partition_worker import SCHEMA
from tests.samples import case_opened, complaint_received, workflow_event

ROOT = Path(__file__).resolve().parents[1]


def case_events(notes: int) -> list[Envelope]:
    """One case's events in publishing order: intake's receipt, then workflow's stream."""
    received = complaint_received()
    at = datetime.now(UTC)
    later = [
        workflow_event(wf.NoteAdded, received, version, at + timedelta(seconds=version))
        for version in range(2, notes + 2)
    ]
    return [received, case_opened(received), *later]


def interleaved(cases: int, notes: int) -> list[Envelope]:
    """Many cases' events, round robin: every case in its own order, the cases mixed."""
    streams = [case_events(notes) for _ in range(cases)]
    return [stream[i] for i in range(notes + 2) for stream in streams]


@dataclass
class Workers:
    """`count` consumer processes of one service, each knowing its index among them."""

    settings: Settings
    count: int
    logs: Path
    urls: tuple[str, ...] = ()  # process i connects to urls[i] (a cluster node); none: settings'
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, index: int) -> None:
        """Start (or start again) the process with this index."""
        env = os.environ | environment(self.settings)
        env |= {"ADUAN_CONSUMER_INDEX": str(index), "ADUAN_CONSUMER_COUNT": str(self.count)}
        if self.urls:
            env["ADUAN_RABBITMQ_URL"] = self.urls[index % len(self.urls)]
        with (self.logs / f"worker-{index}.log").open("ab") as log:
            self.processes[index] = subprocess.Popen(
                [sys.executable, "-m", "tests.partition_worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def kill(self, index: int) -> None:
        """SIGKILL one process: no goodbye to the broker, its unacknowledged messages return."""
        process = self.processes[index]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        """End every process still running."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def workers(
    settings: Settings, count: int, logs: Path, urls: tuple[str, ...] = ()
) -> Iterator[Workers]:
    """`count` consumer processes, all started, ended at the block's end."""
    running = Workers(settings, count, logs, urls)
    try:
        for index in range(count):
            running.start(index)
        yield running
    finally:
        running.stop_all()


@dataclass(frozen=True)
class Recorded:
    """What the consumer processes wrote."""

    handled: int
    duplicates: int
    violations: list[asyncpg.Record]
    by_consumer: dict[int, int]
    consumers_per_case: int  # the most processes that handled events of one case
    gaps: int  # streams whose versions are not 1..n


async def prepare(settings: Settings) -> None:
    """The tables the workers record into."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        await conn.execute(SCHEMA)
    finally:
        await conn.close()


async def handled(settings: Settings) -> int:
    """How many distinct events were handled so far."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        return int(await conn.fetchval("SELECT count(*) FROM handled"))
    finally:
        await conn.close()


async def recorded(settings: Settings) -> Recorded:
    """Everything the workers recorded, summed up."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        rows = await conn.fetch("SELECT consumer, count(*) AS n FROM handled GROUP BY consumer")
        return Recorded(
            handled=int(await conn.fetchval("SELECT count(*) FROM handled")),
            duplicates=int(await conn.fetchval("SELECT count(*) FROM duplicates")),
            violations=await conn.fetch("SELECT * FROM violations"),
            by_consumer={row["consumer"]: row["n"] for row in rows},
            consumers_per_case=int(
                await conn.fetchval(
                    "SELECT coalesce(max(n), 0) FROM (SELECT count(DISTINCT consumer) AS n "
                    "FROM handled GROUP BY subject) AS c"
                )
            ),
            gaps=int(
                await conn.fetchval(
                    "SELECT count(*) FROM (SELECT source, subject FROM handled "
                    "GROUP BY source, subject HAVING max(version) <> count(*) "
                    "OR min(version) <> 1) AS g"
                )
            ),
        )
    finally:
        await conn.close()
