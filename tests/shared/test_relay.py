"""The relay: in order, past gaps, once per service, and safe to kill at the worst moment."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from services.intake.app import create_app as create_intake
from services.intake.store import Submissions
from services.intake.submission import Submission
from services.intake.wire import WIRE
from services.reporting.app import create_app as create_reporting
from shared.events import decode
from shared.feed import CREDENTIAL_HEADER, service_credential
from shared.outages import Unavailable
from shared.relay import EventLog, Relay, WireTable, translator
from shared.service import background
from shared.settings import Settings
from shared.topology import partition_queue
from tests.bus import bus
from tests.conftest import serving
from tests.polling import eventually


class Killed(BaseException):
    """The process died: nothing after this line of the relay ran."""


class KilledBeforeSavingPosition(Relay):
    """Publishes a batch, then dies before it can store its new position."""

    async def save_position(self, conn: Any, position: int) -> None:
        raise Killed


@dataclass
class Intake:
    http: httpx.AsyncClient
    submissions: Submissions
    settings: Settings
    app: FastAPI

    async def post(self, count: int) -> None:
        for number in range(count):
            form = {"text": f"Pengaduan ke-{number} tentang pelayanan loket."}
            answer = await self.http.post("/intake/v1/complaints", json=form)
            assert answer.status_code == 201, answer.text

    def relay(self, kind: type[Relay] = Relay) -> Relay:
        log = EventLog.of(self.submissions)
        return kind(self.settings, "intake", log, translator(self.submissions, WIRE))


WORKFLOW = partition_queue("workflow", 0)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One partition per service: workflow's queue shows the relay's order across cases."""
    return settings.model_copy(update={"partitions": 1})


@pytest.fixture
async def intake(settings: Settings) -> AsyncIterator[Intake]:
    """Intake in this process with its own relay switched off: the test runs relays."""
    quiet = settings.model_copy(update={"relay": False})
    app = create_intake(quiet)
    async with serving(app) as http:
        yield Intake(http, app.state.submissions, quiet, app)


async def relay_position(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        value = await conn.fetchval("SELECT position FROM intake.relay_position")
    except asyncpg.UndefinedTableError:  # no relay has run yet
        value = 0
    finally:
        await conn.close()
    return int(value or 0)


def handled_by_reporting() -> float:
    labels = {"service": "reporting", "outcome": "handled"}
    return REGISTRY.get_sample_value("aduan_events_consumed_total", labels) or 0.0


async def test_a_relay_killed_before_saving_its_position_causes_no_double_count(
    settings: Settings, intake: Intake
) -> None:
    year = datetime.now(ZoneInfo(settings.timezone)).year
    async with serving(create_reporting(settings)) as reporting:

        async def rekap_total() -> int:
            total: int = (await reporting.get(f"/reporting/v1/rekap?year={year}")).json()["total"]
            return total

        await intake.post(5)
        with pytest.raises(Killed):
            await intake.relay(KilledBeforeSavingPosition).run()
        assert await relay_position(settings) == 0
        assert await eventually(lambda: _is(rekap_total, 5), within=10)
        before = handled_by_reporting()

        async with background(intake.relay().run()):
            assert await eventually(lambda: _is(lambda: relay_position(settings), 5), within=10)
            assert await eventually(lambda: _grew(before, by=5), within=10)
        assert await rekap_total() == 5


async def test_the_relay_publishes_in_order_across_notification_id_gaps(
    settings: Settings, intake: Intake
) -> None:
    await intake.post(2)
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:  # ids burnt by rolled-back inserts are never given back: the log gets a gap
        await conn.execute("SELECT setval('intake.submissions_events_notification_id_seq', 7)")
        await intake.post(2)
        ids = [
            r[0] for r in await conn.fetch("SELECT notification_id FROM intake.submissions_events")
        ]
    finally:
        await conn.close()
    assert sorted(ids) == [1, 2, 8, 9]
    async with bus(settings) as connected, background(intake.relay().run()):
        assert await eventually(lambda: _is(lambda: relay_position(settings), 9), within=10)
        messages = await connected.take(WORKFLOW, 4)
    codes = [decode(message.body).data.model_dump()["tracking_code"] for message in messages]
    assert len(codes) == 4
    order = await _codes_in_log_order(settings)
    assert codes == order


async def test_only_one_relay_of_a_service_is_active(settings: Settings, intake: Intake) -> None:
    await intake.post(3)
    async with bus(settings) as connected, background(intake.relay().run(), intake.relay().run()):
        assert await eventually(lambda: _is(lambda: relay_position(settings), 3), within=10)
        conn = await asyncpg.connect(settings.postgres_dsn())
        try:
            held = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        finally:
            await conn.close()
        await intake.post(3)
        assert await eventually(lambda: _is(lambda: relay_position(settings), 6), within=10)
        assert held == 1
        assert await connected.depth(WORKFLOW) == 6


async def _codes_in_log_order(settings: Settings) -> list[str]:
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        rows = await conn.fetch(
            "SELECT tracking_code FROM intake.submission_index i JOIN intake.submissions_events e "
            "ON e.originator_id = i.case_id ORDER BY e.notification_id"
        )
    finally:
        await conn.close()
    return [row[0] for row in rows]


async def _is(probe: Any, expected: int) -> bool:
    value = await probe()
    return bool(value == expected)


async def _grew(before: float, *, by: int) -> bool:
    await asyncio.sleep(0)
    return handled_by_reporting() >= before + by


async def test_a_query_on_a_connection_the_server_just_dropped_is_an_outage(
    settings: Settings, intake: Intake
) -> None:
    """A restart tells each backend FATAL and then closes the socket; a query sent between the
    two fails inside asyncpg (InternalClientError). The relay takes that for the outage it is."""
    relay = intake.relay()
    async with bus(settings) as connected:
        for _ in range(5):  # the moment between FATAL and the close is not always hit
            conn = await asyncpg.connect(settings.postgres_dsn())
            admin = await asyncpg.connect(settings.postgres_dsn())
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
            finally:
                await admin.close()
            with pytest.raises(Unavailable):
                await relay.pump(conn, connected.exchange)
            assert conn.is_closed()


WITHOUT_CONSULTATIONS = WireTable(
    {kind: to for kind, to in WIRE.published.items() if kind is not Submission.ConsultationReceived}
)


def refused_alarm() -> float:
    return REGISTRY.get_sample_value("aduan_relay_refused", {"service": "intake"}) or 0.0


async def test_the_relay_holds_before_an_event_it_cannot_publish_until_a_release_maps_it(
    settings: Settings, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    """Complaint, consultation, complaint; a release whose table lacks consultations publishes
    the first complaint and holds: never the second complaint past the consultation."""
    await intake.post(1)
    answer = await intake.http.post("/intake/v1/consultations", json={"text": "Cara membuat NIB?"})
    assert answer.status_code == 201, answer.text
    await intake.post(1)
    old = Relay(
        settings,
        "intake",
        EventLog.of(intake.submissions),
        translator(intake.submissions, WITHOUT_CONSULTATIONS),
    )
    with caplog.at_level(logging.ERROR, logger="shared.relay"):
        async with bus(settings) as connected, background(old.run()):
            assert await eventually(lambda: _is(lambda: relay_position(settings), 1), within=10)
            assert await eventually(lambda: _true(refused_alarm() == 1), within=10)
            for _ in range(3):  # it looks again on every wake-up, and still holds
                old._notified()
                await asyncio.sleep(settings.relay_poll_seconds)
            assert await relay_position(settings) == 1
            assert await connected.depth(WORKFLOW) == 1
    held = [r for r in caplog.records if "holds before" in r.getMessage()]
    assert len(held) == 1, [r.getMessage() for r in held]
    assert "ConsultationReceived" in held[0].getMessage()

    async with bus(settings) as connected, background(intake.relay().run()):  # the fix, deployed
        assert await eventually(lambda: _is(lambda: relay_position(settings), 3), within=10)
        kinds = [decode(m.body).type for m in await connected.take(WORKFLOW, 3)]
    assert kinds == [
        "aduan.ComplaintReceived.v1",
        "aduan.ConsultationReceived.v1",
        "aduan.ComplaintReceived.v1",
    ]
    assert refused_alarm() == 0


def caught_up() -> float:
    labels = {"service": "intake"}
    return REGISTRY.get_sample_value("aduan_relay_caught_up_timestamp_seconds", labels) or 0.0


def lag() -> float:
    return REGISTRY.get_sample_value("aduan_relay_lag_notifications", {"service": "intake"}) or 0


async def test_a_relay_behind_keeps_the_time_it_last_caught_up(
    settings: Settings, intake: Intake
) -> None:
    """While stored events wait unpublished the caught-up time stands still (its age is what
    the AduanRelayBehind alert measures); once every one is published, it is the time then."""
    answer = await intake.http.post("/intake/v1/consultations", json={"text": "Cara membuat NIB?"})
    assert answer.status_code == 201, answer.text
    await intake.post(1)
    held = Relay(
        settings,
        "intake",
        EventLog.of(intake.submissions),
        translator(intake.submissions, WITHOUT_CONSULTATIONS),
    )
    started = time.time()
    async with bus(settings), background(held.run()):
        assert await eventually(lambda: _true(refused_alarm() == 1 and lag() == 2), within=10)
        assert caught_up() < started
    async with bus(settings), background(intake.relay().run()):
        assert await eventually(lambda: _true(caught_up() >= started), within=10)
        assert lag() == 0
        assert await relay_position(settings) == 2


async def test_an_event_declared_internal_is_passed_over(
    settings: Settings, intake: Intake
) -> None:
    await intake.post(2)
    internal = WireTable({}, frozenset({Submission.ComplaintReceived}))
    relay = Relay(
        settings,
        "intake",
        EventLog.of(intake.submissions),
        translator(intake.submissions, internal),
    )
    async with bus(settings) as connected, background(relay.run()):
        assert await eventually(lambda: _is(lambda: relay_position(settings), 2), within=10)
        assert await connected.depth(WORKFLOW) == 0


async def _true(value: bool) -> bool:
    return value


async def test_the_feed_ends_its_page_before_an_event_it_cannot_publish(
    settings: Settings, intake: Intake
) -> None:
    await intake.post(1)
    answer = await intake.http.post("/intake/v1/consultations", json={"text": "Cara membuat NIB?"})
    assert answer.status_code == 201, answer.text
    await intake.post(1)
    feed = intake.app.state.feed
    unfixed = translator(intake.submissions, WITHOUT_CONSULTATIONS)
    intake.app.state.feed = replace(feed, translate=unfixed)
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        headers = {CREDENTIAL_HEADER: await service_credential(settings, conn)}
    finally:
        await conn.close()
    first = (await intake.http.get("/internal/v1/events?after=0", headers=headers)).json()
    assert (first["next"], len(first["events"])) == (1, 1)
    refused = await intake.http.get("/internal/v1/events?after=1", headers=headers)
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    intake.app.state.feed = feed  # the fix, deployed
    fixed = (await intake.http.get("/internal/v1/events?after=1", headers=headers)).json()
    assert (fixed["next"], len(fixed["events"])) == (3, 2)
