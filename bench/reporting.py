"""Reporting: rebuild rate against a raw read of the same logs; rekap latency at 10,000 and at
1,000,000 cases; projection throughput against raw publish+consume on the same broker. The
rebuild's baseline is the raw decoded read (fetched and decoded into events, as the rebuild and
every consumer decode them); the parsed read (JSON only) is printed beside it.

    .venv/bin/python bench/reporting.py

Starts its own databases, vhosts and services, stops them at the end. The last line is one
JSON object of the figures, ratios named *_ratio.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aio_pika
import httpx

from bench.harness import isolated, process
from services.intake.draft import Draft, to_pending
from services.intake.store import open_submissions
from services.intake.writer import Writer
from services.reporting.projection import CaseRow
from services.reporting.rebuild import PRODUCERS, fetch_page, read_feed, rebuild, swap, write
from services.reporting.working_set import WorkingSet
from shared import db
from shared.broker import connect
from shared.channels import Channel
from shared.events import ComplaintReceived, Envelope, seal
from shared.feed import CREDENTIAL_HEADER, service_credential
from shared.messaging import publish_confirmed
from shared.settings import Settings
from shared.sop import Kind
from shared.topology import declare_topology, to_message
from shared.tracking_code import new_code
from shared.vocabulary import Group, Status, is_in

SUBMISSIONS = 10_000  # intake's events, and as many CaseOpened from workflow
PUBLISHED = 20_000  # events pushed straight at reporting's queue
SMALL, LARGE = 10_000, 1_000_000
QUERIES = 200


def store(settings: Settings, count: int) -> None:
    """Submissions straight into intake's store, in group commits."""
    submissions = open_submissions(settings)
    try:
        writer, start = Writer(submissions), datetime(2025, 1, 1, 10, tzinfo=UTC)
        for first in range(0, count, 500):
            drafts = [
                Draft(
                    kind=Kind.COMPLAINT,
                    channel=random.choice(list(Channel)),
                    text="Pengaduan untuk uji kecepatan rekap.",
                    received_at=start + timedelta(hours=7 * (first + n)),
                    agency=settings.agency,
                )
                for n in range(min(500, count - first))
            ]
            writer.commit([to_pending(draft) for draft in drafts])
    finally:
        submissions.close()


async def wait_for(settings: Settings, query: str, expected: int, within: float = 600) -> float:
    """Seconds until a count query reaches `expected`."""
    conn = await db.connect(settings)
    started = time.perf_counter()
    try:
        while await conn.fetchval(query) < expected:
            if time.perf_counter() - started > within:
                raise TimeoutError(query)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return time.perf_counter() - started


async def raw_read(settings: Settings, *, decoded: bool) -> tuple[int, float]:
    """Every page of the producers' feeds, fetched and then parsed (JSON) or decoded (into
    events, as the rebuild and every consumer decode them), nothing more: the producers read
    at once, each a page after the other, as the rebuild reads them."""
    conn = await db.connect(settings)
    try:
        credential = {CREDENTIAL_HEADER: await service_credential(settings, conn)}
    finally:
        await conn.close()

    async def read(http: httpx.AsyncClient, producer: str) -> int:
        count, after, url = 0, 0, settings.service_url(producer)
        while True:
            if decoded:
                events, following = await read_feed(http, url, after)
            else:
                page = json.loads(await fetch_page(http, url, after))
                events, following = page["events"], page["next"]
            count += len(events)
            if following == after:
                return count
            after = following

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, headers=credential) as http:
        counts = await asyncio.gather(*(read(http, producer) for producer in PRODUCERS))
    return sum(counts), time.perf_counter() - started


async def rebuild_figures(settings: Settings) -> dict[str, float]:
    """The rebuild against the raw decoded read of the same feeds (the issue's baseline: the
    events read and decoded, neither projected nor written), and beside it the parsed read."""
    async with isolated() as settings:
        # No case clock: the cases received over 2025 are overdue, and its alarms (about 5,000
        # events) would otherwise be raised during the raw read or the rebuild, whichever it met.
        settings = settings.model_copy(update={"clock": False})
        names = ("intake", "workflow", "reporting")
        services = [
            process(f"services.{n}", settings, f"http://127.0.0.1:{settings.port(n)}/readyz")
            for n in names
        ]
        async with services[0], services[1], services[2]:
            await asyncio.to_thread(store, settings, SUBMISSIONS)
            await wait_for(
                settings,
                "SELECT count(*) FROM reporting.case_summary "
                f"WHERE status = '{Status.IN_PROGRESS}'",
                SUBMISSIONS,
            )
            # All read the same warm producers: a first, unmeasured read pays their cold
            # start (the database's cache, the producers' own), else whichever ran first would.
            await raw_read(settings, decoded=False)
            parsed, parsed_seconds = await raw_read(settings, decoded=False)
            read, read_seconds = await raw_read(settings, decoded=True)
            report = await rebuild(settings, swap_in=False)
    rebuild_rate = report.events / report.seconds
    return {
        "rebuild_events": report.events,
        "rebuild_events_per_s": round(rebuild_rate, 1),
        "raw_read_events_per_s": round(read / read_seconds, 1),
        "rebuild_vs_raw_read_ratio": round(rebuild_rate / (read / read_seconds), 3),
        "raw_parsed_read_events_per_s": round(parsed / parsed_seconds, 1),
        "rebuild_vs_raw_parsed_read_ratio": round(rebuild_rate / (parsed / parsed_seconds), 3),
    }


def case_rows(count: int) -> dict[UUID, CaseRow]:
    """Synthetic cases over eight years, every channel, kind, category and status."""
    rng, start = random.Random(3), datetime(2019, 1, 1, 3, tzinfo=UTC)
    statuses = [status for status in Status if status not in {Status.RECEIVED, Status.MERGED}]
    rows = {}
    for number in range(count):
        received = start + timedelta(minutes=rng.randrange(0, 8 * 365 * 24 * 60))
        status = rng.choice(statuses)
        closed = received + timedelta(days=rng.randrange(1, 40))
        row = CaseRow(
            case_id=uuid4(),
            agency="dpmptsp-gresik",
            tracking_code=f"{new_code()}-{number}",
            kind=rng.choice(("complaint", "consultation")),
            channel=rng.choice(list(Channel)).value,
            category=rng.choice(("perizinan_berusaha", "biaya", "petugas", "lainnya", None)),
            received_at=received,
            anonymous=False,
            confidential=False,
            status=status.value,
            deadline_at=received + timedelta(days=20),
            closed_at=closed if is_in(status, Group.CLOSED) else None,
        )
        rows[row.case_id] = row
    return rows


async def rekap_latency(count: int) -> float:
    """p50 milliseconds of the rekap query through the API over `count` cases."""
    async with isolated() as settings:
        url = f"http://127.0.0.1:{settings.reporting_port}"
        async with process("services.reporting", settings, f"{url}/readyz"):
            working = WorkingSet(ZoneInfo(settings.timezone), cases=case_rows(count))
            conn = await db.connect(settings)
            try:  # the rebuild's own path: fresh tables written with COPY, swapped in
                await write(settings, conn, "reporting_bench", working)
                await swap(conn, "reporting", "reporting_bench")
                await conn.execute("ANALYZE")
            finally:
                await conn.close()
            timings = []
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                for n in range(QUERIES):
                    params: dict[str, str | int] = {
                        "year": 2019 + n % 8,
                        "group_by": "month,channel",
                    }
                    started = time.perf_counter()
                    answer = await http.get("/reporting/v1/rekap", params=params)
                    timings.append(time.perf_counter() - started)
                    assert answer.status_code == 200
    return statistics.median(timings[10:]) * 1000


def envelopes(count: int) -> list[Envelope]:
    now = datetime.now(UTC)
    result = []
    for _ in range(count):
        case_id = uuid4()
        data = ComplaintReceived(
            case_id=case_id,
            tracking_code=new_code(),
            kind=Kind.COMPLAINT,
            channel=Channel.WEB,
            received_at=now,
        )
        result.append(seal(data, subject=case_id, version=1, time=now, agency="dpmptsp-gresik"))
    return result


async def projection_figures() -> dict[str, float]:
    events = envelopes(PUBLISHED)
    async with isolated() as settings:
        connection = await connect(settings, "bench")
        channel = await connection.channel()
        exchange = await declare_topology(channel, settings)
        raw = await _raw_publish_consume(channel, events)
        url = f"http://127.0.0.1:{settings.reporting_port}"
        async with process("services.reporting", settings, f"{url}/readyz"):
            started = time.perf_counter()
            for first in range(0, len(events), 1000):
                await publish_confirmed(exchange, events[first : first + 1000])
            await wait_for(settings, "SELECT count(*) FROM reporting.case_summary", len(events))
            projected = len(events) / (time.perf_counter() - started)
        await connection.close()
    return {
        "projection_events_per_s": round(projected, 1),
        "raw_publish_consume_per_s": round(raw, 1),
        "projection_vs_raw_ratio": round(projected / raw, 3),
    }


async def _raw_publish_consume(
    channel: aio_pika.abc.AbstractChannel, events: list[Envelope]
) -> float:
    """Publish with confirms to a scratch quorum queue and consume with acks: the floor."""
    queue = await channel.declare_queue(
        f"bench-{uuid4()}", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await channel.set_qos(prefetch_count=200)
    done, seen = asyncio.Event(), 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal seen
        await message.ack()
        seen += 1
        if seen == len(events):
            done.set()

    await queue.consume(on_message)
    started = time.perf_counter()
    for first in range(0, len(events), 1000):
        await asyncio.gather(
            *(
                channel.default_exchange.publish(to_message(e), queue.name)
                for e in events[first : first + 1000]
            )
        )
    await done.wait()
    rate = len(events) / (time.perf_counter() - started)
    await queue.delete(if_unused=False, if_empty=False)
    return rate


async def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    figures |= await rebuild_figures(Settings())
    small, large = await rekap_latency(SMALL), await rekap_latency(LARGE)
    figures |= {
        "rekap_p50_ms_10k_cases": round(small, 2),
        "rekap_p50_ms_1m_cases": round(large, 2),
        "rekap_1m_vs_10k_ratio": round(large / small, 3),
    }
    figures |= await projection_figures()
    return figures


if __name__ == "__main__":
    result = asyncio.run(main())
    for name, value in result.items():
        print(f"{name:>28}: {value}")
    print(json.dumps(result))
