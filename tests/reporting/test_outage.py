"""Reporting while its database is away: every endpoint answers within 2 s, public reads from
the last good copy (marked), the rest 503 with Retry-After; readiness follows; nothing is lost.

Reporting runs as a process whose PostgreSQL (and Redis) is a TCP proxy in front of the
machine's server (tests/reporting/conftest.py `away`): `cut()` refuses and resets (a stopped
server), `freeze()` passes no bytes (a hung one).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from services.reporting.last_good import STALE_HEADER
from services.reporting.reads import COMMAND_TIMEOUT_SECONDS
from shared.events import Envelope, seal
from shared.events import workflow as wf
from shared.feed import CREDENTIAL_HEADER
from shared.sop import Role
from shared.topology import parking_queue
from tests.bus import park
from tests.polling import eventually
from tests.reporting.conftest import Away, Desk
from tests.samples import answered_directly, complaint_received, workflow_event

pytestmark = [pytest.mark.long, pytest.mark.store_deadline]  # make test-long

PROMISE = 2.0  # seconds: every endpoint answers within this while the database is away


def confidential_complaint() -> Envelope:
    """A complaint submitted as confidential: the public sees only that it exists."""
    sample = complaint_received()
    data = sample.data.model_copy(update={"confidential": True})
    return seal(data, subject=sample.subject, version=1, time=sample.time, agency=sample.agency)


def code_of(envelope: Envelope) -> str:
    return str(envelope.data.model_dump()["tracking_code"])


def year() -> int:
    return datetime.now(ZoneInfo("Asia/Jakarta")).year


def month() -> int:
    return datetime.now(ZoneInfo("Asia/Jakarta")).month


def public_reads(code: str) -> list[str]:
    """What the public reads and keeps reading from the last good copy."""
    y = year()
    return [
        f"/reporting/v1/rekap?year={y}",
        f"/reporting/v1/rekap?group_by=channel&year={y}",
        f"/reporting/v1/rekap/years?from={y - 1}&to={y}",
        f"/reporting/v1/rekap/years.csv?from={y - 1}&to={y}",
        f"/reporting/v1/rekap.csv?group_by=channel&year={y}",
        f"/reporting/v1/track/{code}",
    ]


def needing_the_database(unseen_code: str) -> list[tuple[str, str, Role | None]]:
    """(method, path, role) of every endpoint that answers 503 while the database is away."""
    y, m = year(), month()
    return [
        ("GET", f"/reporting/v1/track/{unseen_code}", None),
        ("GET", f"/reporting/v1/rekap?year={y - 1}", None),  # never read before
        ("GET", f"/reporting/v1/compliance?year={y}", None),
        ("GET", f"/reporting/v1/consultations?year={y}", None),
        ("GET", f"/reporting/v1/satisfaction?year={y}", None),
        ("GET", f"/reporting/v1/dashboard?year={y}&month={m}", None),
        ("GET", f"/reporting/v1/dashboard/channels.svg?year={y}&month={m}", None),
        ("GET", f"/reporting/v1/dashboard/trend.csv?year={y}&month={m}", None),
        ("GET", f"/reporting/v1/recaps/{y}/{m}", None),
        ("POST", f"/reporting/v1/recaps/{y}/{m}", Role.ADMIN),
        ("GET", f"/reporting/v1/recaps/{y}/{m}/rekap.pdf", Role.ADMIN),
        ("GET", "/reporting/v1/worklist?role=tim_pengaduan", Role.TIM_PENGADUAN),
        ("GET", "/reporting/v1/cases", Role.ADMIN),
        ("GET", "/reporting/v1/cases.xlsx", Role.ADMIN),
        ("GET", "/reporting/v1/operations/dead-letters", Role.ADMIN),
    ]


async def timed(
    desk: Desk, method: str, path: str, role: Role | None = None
) -> tuple[httpx.Response, float]:
    headers = desk.headers(role) if role else {}
    started = time.monotonic()
    answer = await desk.http.request(method, path, headers=headers)
    return answer, time.monotonic() - started


async def readiness(desk: Desk) -> tuple[int, float]:
    answer, took = await timed(desk, "GET", "/readyz")
    return answer.status_code, took


async def prepare(away: Away) -> tuple[Envelope, Envelope]:
    """A resolved complaint, read once by the public, and another never tracked;
    one dead letter whose body needs the read model to be masked."""
    plain = complaint_received()
    unseen = complaint_received()
    await away.desk.bus.publish(*answered_directly(plain, "Izin Anda terbit.", at=plain.time))
    await away.desk.bus.publish(unseen)
    await park(away.desk.settings, complaint_received(), "reporting")

    async def projected() -> bool:
        answers = [await away.desk.http.get(path) for path in public_reads(code_of(plain))]
        return (
            all(a.status_code == 200 for a in answers)
            and answers[0].json()["total"] == 2  # the unseen one counted, never tracked
            and answers[-1].json()["status"] == "resolved"
        )

    assert await eventually(projected, within=20)
    return plain, unseen


async def rekap_total(desk: Desk) -> int:
    answer = await desk.http.get(f"/reporting/v1/rekap?year={year()}")
    total: int = answer.json()["total"] if answer.headers.get(STALE_HEADER) is None else -1
    return total


@pytest.mark.parametrize("fault", ["cut", "freeze"])
async def test_every_endpoint_answers_within_two_seconds_while_the_database_is_away(
    away: Away, fault: str
) -> None:
    desk = away.desk
    plain, unseen = await prepare(away)
    before = {path: (await desk.http.get(path)).content for path in public_reads(code_of(plain))}
    logged = len(_log(away))  # a slow answer before the fault (a loaded machine) is not this one
    away.postgres.cut() if fault == "cut" else away.postgres.freeze()

    async def not_ready() -> bool:
        status, took = await readiness(desk)
        assert took < PROMISE, f"/readyz took {took:.1f} s"
        return status == 503

    assert await eventually(not_ready, within=5, interval=0.2)
    for path in public_reads(code_of(plain)):
        answer, took = await timed(desk, "GET", path)
        assert took < PROMISE, f"{path} took {took:.1f} s"
        assert answer.status_code == 200, (path, answer.text)
        assert answer.headers[STALE_HEADER], path
        assert answer.content == before[path], path
    for method, path, role in needing_the_database(code_of(unseen)):
        answer, took = await timed(desk, method, path, role)
        assert took < PROMISE, f"{method} {path} took {took:.1f} s"
        assert answer.status_code == 503, (method, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", path
        assert int(answer.headers["retry-after"]) > 0
        assert answer.json()["type"] == "/problems/store-unavailable"
    for path in ("/internal/v1/events", "/internal/v1/head"):  # the feed a rebuild reads
        started = time.monotonic()
        answer = await desk.http.get(path, headers={CREDENTIAL_HEADER: "rahasia"})
        assert time.monotonic() - started < PROMISE, path
        assert answer.status_code == 503, (path, answer.text)
    requeue = "/reporting/v1/operations/dead-letters/reporting/requeue"
    refused, took = await timed(desk, "POST", requeue, Role.ADMIN)  # who re-queued is stored
    assert took < PROMISE
    assert refused.status_code == 503, refused.text
    assert refused.json()["type"] == "/problems/store-unavailable"
    started = time.monotonic()
    async with desk.http.stream(
        "GET",
        "/reporting/v1/operations/events",
        # from the start: masking each event needs the store
        headers=desk.headers(Role.ADMIN) | {"Last-Event-ID": "0-0"},
    ) as stream:
        assert stream.status_code == 200  # the live stream itself needs Redis, not the store
        body = await asyncio.wait_for(stream.aread(), PROMISE)  # ends: the client reconnects
        assert b"ComplaintReceived" not in body  # nothing unmasked slips through

    later = complaint_received()
    await desk.bus.publish(later)  # acknowledged by the broker while the database is away
    away.postgres.restore() if fault == "cut" else away.postgres.thaw()

    async def ready() -> bool:
        return (await readiness(desk))[0] == 200

    assert await eventually(ready, within=10, interval=0.2)
    requeued, _ = await timed(desk, "POST", requeue, Role.ADMIN)
    assert requeued.json() == {"requeued": 1}, requeued.text
    assert await eventually(lambda: _counted(desk, 4), within=20)  # two, the parked one, later
    fresh = await desk.http.get(f"/reporting/v1/track/{code_of(plain)}")
    assert STALE_HEADER not in fresh.headers
    log = _log(away)[logged:]
    assert "Traceback" not in log, log
    # One line per outage, not one per request (some twenty answered 503 above). The test
    # proxy can leave a pooled connection alive for a moment after the cut (a success then
    # ends the outage and the next failure starts it again), so one or two.
    assert 1 <= log.count("postgres unavailable") <= 2, log
    assert log.count("reporting: infrastructure unavailable") <= 2, log  # the consumer's


async def _counted(desk: Desk, expected: int) -> bool:
    return await rekap_total(desk) == expected


async def shared_copies(away: Away) -> int:
    """How many copies reporting keeps in Redis (read on the real server, not the proxy)."""
    client = aioredis.Redis.from_url(away.desk.settings.redis_url)
    try:
        match = away.desk.settings.redis_key("last-good", "*")
        return len([key async for key in client.scan_iter(match=match)])
    finally:
        await client.aclose()


async def test_a_restarted_reporting_serves_the_rekap_copy_kept_in_redis(away: Away) -> None:
    desk = away.desk
    await desk.bus.publish(complaint_received())
    path = f"/reporting/v1/rekap?year={year()}"
    assert await eventually(lambda: _counted(desk, 1), within=15)
    kept = (await desk.http.get(path)).content
    assert await eventually(lambda: shared_copies(away), within=5)
    await away.restart()  # this process has read nothing yet
    away.postgres.cut()
    answer, took = await timed(desk, "GET", path)
    assert took < PROMISE
    assert answer.status_code == 200, answer.text
    assert answer.headers[STALE_HEADER]
    assert answer.content == kept
    assert (await desk.http.get(f"/reporting/v1/rekap?year={year() - 1}")).status_code == 503


@pytest.mark.parametrize("fault", ["cut", "freeze"])
async def test_with_redis_away_too_the_copies_of_this_process_still_serve(
    away: Away, fault: str
) -> None:
    desk = away.desk
    plain, confidential = complaint_received(), confidential_complaint()
    await desk.bus.publish(plain, confidential)
    assert await eventually(lambda: _counted(desk, 2), within=15)
    paths = [f"/reporting/v1/track/{code_of(case)}" for case in (plain, confidential)]
    kept = [(await desk.http.get(path)).json() for path in paths]
    assert {key for key, value in kept[1].items() if value is not None} == {
        "tracking_code",
        "status",
        "status_label",
    }
    for proxy in (away.redis, away.postgres):
        proxy.cut() if fault == "cut" else proxy.freeze()
    for path, before in zip(paths, kept, strict=True):
        answer, took = await timed(desk, "GET", path)
        assert took < PROMISE, f"{path} took {took:.1f} s"
        assert answer.status_code == 200, answer.text
        assert answer.headers[STALE_HEADER]
        assert answer.json() == before  # the confidential case: still only its status
    answer, took = await timed(desk, "GET", f"/reporting/v1/rekap?year={year() - 1}")
    assert took < PROMISE, f"an uncopied rekap took {took:.1f} s"
    assert answer.status_code == 503


async def test_an_erasure_drops_the_tracking_copy(away: Away) -> None:
    desk = away.desk
    plain = complaint_received()
    await desk.bus.publish(*answered_directly(plain, "Izin atas nama Budi terbit.", at=plain.time))
    path = f"/reporting/v1/track/{code_of(plain)}"

    async def answered() -> bool:
        return bool((await desk.http.get(path)).json().get("answer"))

    assert await eventually(answered, within=15)
    erased = workflow_event(wf.CaseDataErased, plain, 3, datetime.now(UTC))
    await desk.bus.publish(erased)
    conn = await asyncpg.connect(desk.settings.postgres_dsn())  # the real server
    try:

        async def projected() -> bool:
            answer = await conn.fetchval(
                "SELECT public_answer FROM reporting.case_summary WHERE case_id = $1",
                plain.subject,
            )
            return answer is None

        assert await eventually(projected, within=15)
    finally:
        await conn.close()
    away.postgres.cut()
    answer, took = await timed(desk, "GET", path)
    assert took < PROMISE
    assert answer.status_code == 503, answer.text


async def test_the_projection_outlives_a_freeze_longer_than_its_command_timeout(
    away: Away,
) -> None:
    desk = away.desk
    before = [complaint_received() for _ in range(5)]
    await desk.bus.publish(*before)
    assert await eventually(lambda: _counted(desk, 5), within=15)
    away.postgres.freeze()
    during = [complaint_received() for _ in range(5)]
    await desk.bus.publish(*during)  # acknowledged by the broker; the consumer is stuck
    frozen_until = time.monotonic() + COMMAND_TIMEOUT_SECONDS + 3
    while time.monotonic() < frozen_until:  # the outage itself: readiness says so throughout
        status, took = await readiness(desk)
        assert (status, took < PROMISE) == (503, True)
        await asyncio.sleep(1)
    away.postgres.thaw()
    assert await eventually(lambda: _counted(desk, 10), within=30)
    assert await desk.bus.depth(parking_queue("reporting")) == 0
    log = away.system.log_tail("reporting", 400)
    assert "Traceback" not in log, log


def _log(away: Away) -> str:
    """Reporting's whole log so far."""
    return (away.system.logs / "reporting.log").read_text(errors="replace")
