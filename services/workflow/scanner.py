"""The clock scanner: raise the alarms of cases whose next alarm is due.

One scanner per service is active (advisory lock); even two at once raise each alarm once,
since the aggregate remembers what it raised and the store refuses a second writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
from eventsourcing.persistence import PersistenceError
from prometheus_client import Counter, Gauge

from services.workflow.cases import Cases
from shared import db
from shared.outages import OUTAGES, unreachable
from shared.settings import Settings

log = logging.getLogger(__name__)

SCANS = Counter("aduan_clock_scans_total", "Completed scans of the case clock")
ALARMS = Counter("aduan_clock_alarms_total", "Alarm events the case clock raised")
SCANNER_ACTIVE = Gauge("aduan_clock_scanner_active", "1 while this process runs the case clock")
_PAGE, _MAX_PAGES = 100, 1000  # one transaction per page


def scan_once(cases: Cases, now: datetime) -> int:
    """Tick every case due by `now`; how many alarm events were raised."""
    raised = 0
    for _ in range(_MAX_PAGES):
        due = cases.due(now, limit=_PAGE)
        raised += cases.tick(due, now) if due else 0
        if len(due) < _PAGE:
            break
    SCANS.inc()
    ALARMS.inc(raised)
    return raised


async def run_scanner(
    settings: Settings, cases: Cases, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Scan every `clock_scan_seconds` while holding the lock; survive outages."""
    while True:
        try:
            conn = await db.connect(settings)
            try:
                while not await conn.fetchval(  # noqa: ASYNC110 - another scanner holds it
                    "SELECT pg_try_advisory_lock(hashtext('aduan.workflow.clock'))"
                ):
                    await asyncio.sleep(settings.clock_scan_seconds)
                SCANNER_ACTIVE.set(1)
                while True:
                    await asyncio.to_thread(scan_once, cases, now())
                    OUTAGES.up("postgres")
                    await asyncio.sleep(settings.clock_scan_seconds)
            finally:
                SCANNER_ACTIVE.set(0)
                await conn.close(timeout=5)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, PersistenceError) as error:
            if unreachable("postgres", error):
                OUTAGES.down("postgres", error)  # logged once for the outage, not per retry
            else:
                log.warning("clock scanner: %s; retrying", error)
            await asyncio.sleep(settings.clock_scan_seconds)
