"""Footprint: idle RSS of intake, workflow and reporting after start, and again after many events
have passed through all three (goal: at most 300 MB together, growth at most 10 %).

    .venv/bin/python bench/footprint.py [--events 1000000] [--seconds 300]

Starts its own database, vhost and the three services as processes, stops them at the end.
The events go the whole way: submissions stored in intake's event store in group commits (as
the register import does) and, beside them, web submissions through intake's API; intake's
relay publishes them, workflow opens a case for each (its own events, relayed too), reporting
projects both streams. Counted: the events stored by intake and workflow once reporting has
projected every case. Feeding stops at `--events` or after `--seconds`, whichever comes first
(a million through the whole pipeline takes longer than five minutes on two shared cores: the
JSON then says how many went through). RSS is taken idle at three points: after start, after
the first 2,000 events (warm) and at the end; `*_growth_ratio` is end/start (the goal's),
`*_growth_after_warmup_ratio` end/warm (growth with the events themselves). Beside them, the
baseline of the same run: `*_imported_mb`, a process that has only imported the service's app
(the floor its code and libraries set), and `total_after_pss_mb`, the three at the end with
their shared pages counted once. `press_child_*_mb`: reporting's printing child (it draws the
recap at the first start, and ends once idle for `ADUAN_PRESS_IDLE_SECONDS`), not in the
totals. The last line is one JSON object of the figures, ratios named *_ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import closed_loop, isolated, process
from bench.intake import FORM
from services.intake.draft import Draft, to_pending
from services.intake.store import open_submissions
from services.intake.writer import Writer
from shared import db
from shared.channels import Channel
from shared.settings import Settings
from shared.sop import Kind
from shared.vocabulary import Status

SERVICES = ("intake", "workflow", "reporting")
GOAL_MB = 300.0
BATCH = 500
AHEAD = 20_000  # submissions stored but not yet in the rekap, at most: feeding waits beyond
HTTP_CONCURRENCY = 4
SETTLE_SECONDS = 10.0
WARMUP_EVENTS = 2_000
"""RSS is also taken after these first events: what a service loads or fills once on its first
work (connections, the office calendar's holidays) is not growth with the events."""
EVENTS = (
    "SELECT (SELECT count(*) FROM intake.submissions_events)"
    " + (SELECT count(*) FROM workflow.cases_events)"
)
SUBMISSIONS = "SELECT count(*) FROM intake.submissions_events WHERE originator_version = 1"
PROJECTED = f"SELECT count(*) FROM reporting.case_summary WHERE status = '{Status.IN_PROGRESS}'"


def rss_mb(pid: int) -> float:
    """The process's resident set, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(pid)


def pss_mb(pid: int) -> float:
    """The process's proportional set: pages shared with others (the libraries the three
    services map from the same files) counted in shares, so the sum is what they occupy."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise LookupError(pid)


IMPORTED = (
    "import gc, importlib, sys; importlib.import_module(sys.argv[1]); gc.collect(); "
    "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')))"
)


def imported_mb(service: str) -> float:
    """The RSS of a process that has only imported the service's app (its code and libraries,
    nothing started): the floor under the service's own start figure."""
    child = subprocess.run(
        [sys.executable, "-c", IMPORTED, f"services.{service}.app"],
        cwd=Path(__file__).resolve().parents[1],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout.split()[-1]) / 1024


def store(settings: Settings, writer: Writer, count: int) -> None:
    """`count` submissions straight into intake's store, in group commits."""
    now = datetime.now(UTC)
    for first in range(0, count, BATCH):
        drafts = [
            Draft(
                kind=Kind.COMPLAINT,
                channel=Channel.WEB,
                text="Pengaduan untuk uji jejak memori.",
                received_at=now,
                agency=settings.agency,
            )
            for _ in range(min(BATCH, count - first))
        ]
        writer.commit([to_pending(draft) for draft in drafts])


async def count(conn: db.Connection, query: str) -> int:
    return int(await conn.fetchval(query))


async def feed(
    settings: Settings, conn: db.Connection, target: int, seconds: float, pids: dict[str, int]
) -> tuple[int, float]:
    """Submissions until `target` events are stored or `seconds` pass; (accepted through the
    API, seconds fed). Prints the services' RSS on stderr as it goes."""
    submissions = await asyncio.to_thread(open_submissions, settings)
    writer, started = Writer(submissions), time.perf_counter()
    shown = started
    url = f"http://127.0.0.1:{settings.intake_port}/intake/v1/complaints"
    stop = asyncio.Event()

    async def web() -> int:
        accepted = 0
        while not stop.is_set():
            load = await closed_loop(url, FORM, concurrency=HTTP_CONCURRENCY, seconds=5)
            accepted += len(load.latencies)
        return accepted

    through_api = asyncio.create_task(web())
    try:
        while time.perf_counter() - started < seconds:
            stored = await count(conn, EVENTS)
            if stored >= target:
                break
            if time.perf_counter() - shown > 15:
                shown = time.perf_counter()
                sizes = " ".join(f"{name} {rss_mb(pid):.1f}" for name, pid in pids.items())
                print(f"{shown - started:5.0f} s {stored:>9} events; MB {sizes}", file=sys.stderr)
            behind = await count(conn, SUBMISSIONS) - await count(conn, PROJECTED)
            if behind > AHEAD:
                await asyncio.sleep(0.5)
                continue
            # About two events per submission: intake's and workflow's.
            batch = min(5 * BATCH, max(BATCH, (target - stored) // 2))
            await asyncio.to_thread(store, settings, writer, batch)
    finally:
        stop.set()
        accepted = await through_api
        await asyncio.to_thread(submissions.close)
    return accepted, time.perf_counter() - started


async def drained(conn: db.Connection, within: float = 600) -> float:
    """Seconds until reporting has projected every submission's case."""
    started = time.perf_counter()
    while await count(conn, PROJECTED) < await count(conn, SUBMISSIONS):
        if time.perf_counter() - started > within:
            raise TimeoutError("reporting did not catch up")
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


def press_mb(pid: int) -> float:
    """The RSS of reporting's printing child (services/reporting/press.py), 0 when it has
    ended (it does once idle for `press_idle_seconds`)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid and b"services.reporting.press" in (entry / "cmdline").read_bytes():
                total += rss_mb(int(entry.name))
        except (OSError, IndexError, ValueError, LookupError):
            continue  # not a process, or ended meanwhile
    return total


async def idle_rss(pids: dict[str, int]) -> dict[str, float]:
    """Each service's RSS after `SETTLE_SECONDS` of nothing to do (and the printing child's,
    apart: it is not a service, and lives only while files are drawn)."""
    await asyncio.sleep(SETTLE_SECONDS)
    return {name: rss_mb(pid) for name, pid in pids.items()} | {
        "press": press_mb(pids["reporting"])
    }


async def main(target: int, seconds: float) -> dict[str, float]:
    async with isolated() as settings, contextlib.AsyncExitStack() as stack:
        pids = {}
        for name in SERVICES:
            ready = f"http://127.0.0.1:{settings.port(name)}/readyz"
            child = await stack.enter_async_context(process(f"services.{name}", settings, ready))
            pids[name] = child.pid
        rss = {"start": await idle_rss(pids)}
        conn = await db.connect(settings)  # one, for every count: the server is shared
        stack.push_async_callback(conn.close)
        warming, warmed = await feed(settings, conn, WARMUP_EVENTS, seconds, pids)
        await drained(conn)
        rss["warm"] = await idle_rss(pids)
        accepted, fed = await feed(settings, conn, target, seconds - warmed, pids)
        drain = await drained(conn)
        events = await count(conn, EVENTS)
        rss["after"] = await idle_rss(pids)
        pss = {name: pss_mb(pid) for name, pid in pids.items()}
    figures: dict[str, float] = {"events_target": target, "events_passed": events}
    figures["events_reached_ratio"] = round(events / target, 3)
    figures["submissions_through_api"] = warming + accepted
    figures["feed_s"], figures["drain_s"] = round(warmed + fed, 1), round(drain, 1)
    for name in SERVICES:
        figures[f"{name}_imported_mb"] = round(imported_mb(name), 1)
    figures["total_imported_mb"] = round(sum(figures[f"{n}_imported_mb"] for n in SERVICES), 1)
    figures["total_after_pss_mb"] = round(sum(pss.values()), 1)
    return figures | sizes(rss)


def sizes(rss: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each service's and the total's RSS at start, warm and after, growth and goal ratios."""
    figures = {}
    for point_name, point in rss.items():
        figures[f"press_child_{point_name}_mb"] = round(point.pop("press"), 1)
        point["total"] = sum(point.values())
    for name in (*SERVICES, "total"):
        start, warm, after = (rss[point][name] for point in ("start", "warm", "after"))
        figures[f"{name}_start_mb"] = round(start, 1)
        figures[f"{name}_warm_mb"] = round(warm, 1)
        figures[f"{name}_after_mb"] = round(after, 1)
        figures[f"{name}_growth_ratio"] = round(after / start, 3)
        figures[f"{name}_growth_after_warmup_ratio"] = round(after / warm, 3)
    figures["total_vs_goal_ratio"] = round(rss["after"]["total"] / GOAL_MB, 3)
    return figures


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to pass through")
    parser.add_argument("--seconds", type=float, default=300.0, help="feeding stops after this")
    return parser.parse_args()


if __name__ == "__main__":
    args = arguments()
    result = asyncio.run(main(args.events, args.seconds))
    for name, value in result.items():
        print(f"{name:>28}: {value}")
    print(json.dumps(result))
