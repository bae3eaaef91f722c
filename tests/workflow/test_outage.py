"""Workflow with its store away: every endpoint answers within 2 s, and it comes back by itself.

Workflow runs as a process whose PostgreSQL is behind a proxy the test controls: cut (refused,
reset) and frozen (no bytes either way, no resets: a hung server). The test's own view of the
store (seeding a case, minting tokens) goes to the server directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import httpx
import pytest

from services.workflow import accounts
from services.workflow.case import Case
from services.workflow.cases import open_cases
from services.workflow.issuer import Issuer
from shared import db
from shared.feed import CREDENTIAL_HEADER
from shared.settings import Settings
from shared.sop import Kind, Role
from shared.tracking_code import new_code
from tests.bus import bus
from tests.polling import eventually
from tests.samples import complaint_received
from tests.system import System, with_free_ports
from tests.tcp_proxy import TcpProxy
from tests.workflow.conftest import Desk

pytestmark = [pytest.mark.long, pytest.mark.store_deadline]  # make test-long

TIM, ADMIN = Role.TIM_PENGADUAN, Role.ADMIN
CREDENTIAL = "kredensial-layanan-uji"
PASSWORD = "Sandi-Uji-Panjang-1"
PDF = b"%PDF-1.4\n% laporan\n"
PROMISE = 2.0  # seconds: what every endpoint answers within while the store is away


@dataclass
class Running:
    """Workflow as a process, its store behind `proxy`, and what the test seeded."""

    http: httpx.AsyncClient
    system: System
    proxy: TcpProxy
    issuer: Issuer
    case: UUID
    attachment: str

    def headers(self, *roles: Role, officer: str = "") -> dict[str, str]:
        subject = officer or f"{roles[0].value}-uji"
        token = self.issuer.mint(subject=subject, name=subject, roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    @property
    def url(self) -> str:
        return self.system.url("workflow")


async def _seed_case(settings: Settings) -> UUID:
    cases = await asyncio.to_thread(open_cases, settings)
    try:
        case = Case.open(
            case_id=uuid4(),
            agency=settings.agency,
            kind=Kind.COMPLAINT,
            tracking_code=new_code(),
            channel="web",
            category=None,
            received_at=datetime.now(UTC),
            anonymous=False,
            confidential=False,
            complainant_ref=None,
            calendar=cases.calendar(),
        )
        await asyncio.to_thread(cases.open, [lambda: case])
        return case.id
    finally:
        cases.close()


@pytest.fixture
async def running(
    settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Running]:
    """Workflow with PostgreSQL behind the proxy (or RabbitMQ, parametrized "rabbitmq")."""
    settings = with_free_ports(settings)
    broker = getattr(request, "param", "postgres") == "rabbitmq"
    amqp = urlsplit(settings.rabbitmq_url)
    target = (
        (amqp.hostname or "", amqp.port or 5672)
        if broker
        else (settings.postgres_host, settings.postgres_port)
    )
    proxy = TcpProxy(*target)
    await proxy.start()
    system = System(settings, tmp_path)
    env = {"ADUAN_INTERNAL_TOKEN": CREDENTIAL, "ADUAN_CLOCK_SCAN_SECONDS": "1"}
    if broker:
        proxied = amqp._replace(netloc=f"{amqp.username}:{amqp.password}@127.0.0.1:{proxy.port}")
        env["ADUAN_RABBITMQ_URL"] = urlunsplit(proxied)
    else:
        env["ADUAN_POSTGRES_PORT"] = str(proxy.port)
    try:
        await system.start("workflow", env)
        issuer = await Issuer.load(settings)
        conn = await db.connect(settings)
        try:
            for username, roles in (("admin.uji", [ADMIN]), ("petugas.uji", [TIM])):
                await accounts.create(
                    conn, settings, username=username, name=username, roles=roles, password=PASSWORD
                )
        finally:
            await conn.close()
        case = await _seed_case(settings)
        async with httpx.AsyncClient(base_url=system.url("workflow"), timeout=5) as http:
            running = Running(http, system, proxy, issuer, case, "")
            upload = await http.post(
                f"/workflow/v1/cases/{case}/attachments",
                files={"file": ("bukti.pdf", PDF, "application/pdf")},
                headers=running.headers(TIM),
            )
            assert upload.status_code == 200, upload.text
            running.attachment = upload.json()["timeline"][-1]["details"]["attachment_id"]
            yield running
    finally:
        await system.stop("workflow") if "workflow" in system.processes else None
        await proxy.stop()


Call = Callable[[Running], Awaitable[httpx.Response]]


BACKLOG = "00000000-0000-4000-8000-000000000001"  # any case: the store is away first


def _calls() -> dict[str, tuple[Call, frozenset[int]]]:
    """Every workflow endpoint, and what it may answer while the store is away."""
    away, free = frozenset({503}), frozenset({200})

    def get(path: str, *roles: Role) -> Call:
        async def call(r: Running) -> httpx.Response:
            headers = r.headers(*roles) if roles else {}
            return await r.http.get(
                path.format(case=r.case, attachment=r.attachment), headers=headers
            )

        return call

    def send(method: str, path: str, body: dict[str, Any] | None, *roles: Role) -> Call:
        async def call(r: Running) -> httpx.Response:
            headers = r.headers(*roles) if roles else {}
            return await r.http.request(
                method, path.format(case=r.case), json=body, headers=headers
            )

        return call

    async def upload(r: Running) -> httpx.Response:
        return await r.http.post(
            f"/workflow/v1/cases/{r.case}/attachments",
            files={"file": ("lagi.pdf", PDF, "application/pdf")},
            headers=r.headers(TIM),
        )

    async def internal(r: Running) -> httpx.Response:
        return await r.http.get("/internal/v1/events", headers={CREDENTIAL_HEADER: CREDENTIAL})

    async def head(r: Running) -> httpx.Response:
        return await r.http.get("/internal/v1/head", headers={CREDENTIAL_HEADER: CREDENTIAL})

    case = "/workflow/v1/cases/{case}"
    day = "/workflow/v1/calendar/days/2031-12-24"
    password = {"current_password": PASSWORD, "new_password": "Sandi-Baru-Panjang-2"}
    return {
        "case": (get(case, TIM), away),
        "command": (send("POST", f"{case}/identification/escalate", _escalation(1), TIM), away),
        "note": (send("POST", f"{case}/notes", {"text": "Catatan."}, TIM), away),
        "backlog": (
            send("POST", "/workflow/v1/backlog/close", {"case_ids": [BACKLOG], "reason": "x"}, TIM),
            away,
        ),
        "upload": (upload, away),
        "download": (get(f"{case}/attachments/{{attachment}}", TIM), away),
        # the calendar is cached for a minute: its last good copy is a fine answer
        "calendar": (get("/workflow/v1/calendar?year=2031"), away | free),
        "calendar set": (send("PUT", day, {"name": "Libur uji"}, ADMIN), away),
        "calendar clear": (send("DELETE", day, None, ADMIN), away),
        "accounts": (get("/workflow/v1/accounts", ADMIN), away),
        "account add": (
            send(
                "POST",
                "/workflow/v1/accounts",
                {"username": "baru.uji", "name": "Baru", "roles": ["kabid"], "password": PASSWORD},
                ADMIN,
            ),
            away,
        ),
        "account change": (
            send("PATCH", "/workflow/v1/accounts/petugas.uji", {"name": "Ganti"}, ADMIN),
            away,
        ),
        "account password": (
            send(
                "POST",
                "/workflow/v1/accounts/petugas.uji/password",
                {"password": "Sandi-Lain-Panjang-3"},
                ADMIN,
            ),
            away,
        ),
        "sign in": (
            send(
                "POST",
                "/workflow/v1/auth/sign-in",
                {"username": "petugas.uji", "password": PASSWORD},
            ),
            away,
        ),
        "own password": (
            send("POST", "/workflow/v1/auth/password", password, TIM),
            away,
        ),
        "auth": (get("/workflow/v1/auth"), free),
        "jwks": (get("/workflow/v1/auth/jwks.json"), free),
        "actions": (get("/workflow/v1/actions"), free),
        "openapi": (get("/workflow/openapi.json"), free),
        "events": (internal, away),
        "head": (head, away),
        "healthz": (get("/healthz"), free),
        "readyz": (get("/workflow/readyz"), away),
    }


def _escalation(version: int) -> dict[str, Any]:
    return {"version": version, "note": "Mohon arahan pimpinan."}


async def _every_endpoint_answers_at_once(running: Running, how: str) -> None:
    slow, wrong = [], []
    for name, (call, expected) in _calls().items():
        started = time.monotonic()
        try:
            answer = await call(running)
        except httpx.TimeoutException:
            slow.append(f"{name}: no answer")
            continue
        took = time.monotonic() - started
        if took >= PROMISE:
            slow.append(f"{name}: {took:.1f} s")
        if answer.status_code not in expected:
            wrong.append(f"{name}: {answer.status_code} {answer.text[:200]}")
        elif answer.status_code == 503 and name != "readyz":
            assert answer.headers["content-type"] == "application/problem+json", name
            assert int(answer.headers["retry-after"]) > 0, name
            assert answer.json()["type"] == "/problems/store-unavailable", (name, answer.text)
    assert not slow, f"store {how}: answered late: {slow}"
    assert not wrong, f"store {how}: wrong answers: {wrong}"


async def _ready(running: Running) -> bool:
    started = time.monotonic()
    answer = await running.http.get("/readyz")
    assert time.monotonic() - started < PROMISE, "readiness answered late"
    return answer.status_code == 200


async def _not_ready(running: Running) -> bool:
    return not await _ready(running)


async def _works_again(running: Running) -> None:
    await eventually(lambda: _ready(running), within=20, interval=0.5)
    view = await running.http.get(
        f"/workflow/v1/cases/{running.case}", headers=running.headers(TIM)
    )
    assert view.status_code == 200, view.text
    note = await running.http.post(
        f"/workflow/v1/cases/{running.case}/notes",
        json={"text": "Setelah gangguan."},
        headers=running.headers(TIM),
    )
    assert note.status_code == 200, note.text
    signed_in = await running.http.post(
        "/workflow/v1/auth/sign-in", json={"username": "petugas.uji", "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text


async def _scans(running: Running) -> float:
    metrics = (await running.http.get("/metrics")).text
    line = next(line for line in metrics.splitlines() if line.startswith("aduan_clock_scans_total"))
    return float(line.split()[-1])


async def _background_resumes(running: Running, received: UUID) -> None:
    """The consumer opens the case published during the outage; the clock scans again."""
    scans = await _scans(running)

    async def opened() -> bool:
        answer = await running.http.get(
            f"/workflow/v1/cases/{received}", headers=running.headers(TIM)
        )
        return answer.status_code == 200

    async def scanning() -> bool:
        return await _scans(running) > scans

    await eventually(opened, within=20, interval=0.5)
    await eventually(scanning, within=20, interval=0.5)


async def _publish_submission(running: Running) -> UUID:
    received = complaint_received()
    async with bus(running.system.settings) as connected:
        await connected.publish(received)
    return received.subject


def _log(running: Running) -> str:
    return (running.system.logs / "workflow.log").read_text(errors="replace")


async def test_a_store_cut_answers_503_at_once_everywhere_and_recovers(running: Running) -> None:
    before = await running.http.get(
        f"/workflow/v1/cases/{running.case}", headers=running.headers(TIM)
    )
    version = before.json()["version"]
    logged = len(_log(running))
    running.proxy.cut()
    await eventually(lambda: _not_ready(running), within=5, interval=0.2)
    received = await _publish_submission(running)
    await _every_endpoint_answers_at_once(running, "cut")
    running.proxy.restore()
    await _works_again(running)
    await _background_resumes(running, received)
    during = _log(running)[logged:]
    assert "Traceback" not in during, during
    assert during.count("postgres unavailable") == 1, during
    after = await running.http.get(
        f"/workflow/v1/cases/{running.case}", headers=running.headers(TIM)
    )
    # the command refused during the cut was not written; the note after it was
    assert [e["event"] for e in after.json()["timeline"]].count("Escalated") == 0
    assert after.json()["version"] == version + 1


async def test_a_frozen_store_answers_503_at_once_everywhere_and_recovers(
    running: Running,
) -> None:
    before = await running.http.get(
        f"/workflow/v1/cases/{running.case}", headers=running.headers(TIM)
    )
    version = before.json()["version"]
    logged = len(_log(running))
    running.proxy.freeze()
    await eventually(lambda: _not_ready(running), within=5, interval=0.2)
    received = await _publish_submission(running)
    await _every_endpoint_answers_at_once(running, "frozen")
    # more requests than the store has connections, at once: still answered in time
    started = time.monotonic()
    burst = await asyncio.gather(
        *(
            running.http.get(f"/workflow/v1/cases/{running.case}", headers=running.headers(TIM))
            for _ in range(30)
        )
    )
    assert time.monotonic() - started < PROMISE
    assert {answer.status_code for answer in burst} == {503}
    running.proxy.thaw()
    await _works_again(running)
    await _background_resumes(running, received)
    fresh = await asyncio.to_thread(open_cases, running.system.settings)
    try:  # read from the store, not from the process's cached calendar
        assert not (await asyncio.to_thread(fresh.calendar)).overrides
    finally:
        fresh.close()
    during = _log(running)[logged:]
    assert "Traceback" not in during, during
    assert during.count("postgres unavailable") == 1, during
    after = await running.http.get(
        f"/workflow/v1/cases/{running.case}", headers=running.headers(TIM)
    )
    # the commands that got no answer in time were rolled back, not written on the thaw
    events = [e["event"] for e in after.json()["timeline"]]
    assert events.count("Escalated") == 0, events
    assert events.count("NoteAdded") == 1, events  # the one after the thaw
    assert after.json()["version"] == version + 1


async def test_a_command_not_saved_in_time_answers_503_and_is_never_written(
    desk: Desk, settings: Settings
) -> None:
    """The save waits on a lock past the request deadline: 503 at once, and when the lock goes
    the late save rolls back instead of writing what the officer was told was not done."""
    case = await desk.open()
    version = (await desk.view(case))["version"]
    conn = await db.connect(settings)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE workflow.cases_events IN EXCLUSIVE MODE")
            started = time.monotonic()
            answer = await desk.act(case, "identification/escalate", TIM, **_escalation(version))
            assert time.monotonic() - started < PROMISE
            await asyncio.sleep(0.5)  # the save is waiting on the lock behind its deadline
    finally:
        await conn.close()
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]

    await eventually(desk.cases.guard.check, within=10)  # ready again once the late save ended
    after = await desk.view(case)
    assert after["version"] == version
    assert "Escalated" not in [entry["event"] for entry in after["timeline"]]
    again = await desk.act(case, "identification/escalate", TIM, **_escalation(version))
    assert again.status_code == 200, again.text


@pytest.mark.parametrize("running", ["rabbitmq"], indirect=True)
async def test_with_the_broker_away_workflow_answers_as_usual_and_catches_up(
    running: Running,
) -> None:
    """No endpoint needs RabbitMQ: each answers as usual, and workflow stays ready; the
    consumer opens the cases published meanwhile once the broker is reachable again."""
    for outage, back in (
        (running.proxy.freeze, running.proxy.thaw),
        (running.proxy.cut, running.proxy.restore),
    ):
        outage()
        received = await _publish_submission(running)  # straight to the broker, not via the proxy
        slow, failed = [], []
        for name, (call, _) in _calls().items():
            started = time.monotonic()
            answer = await call(running)
            if time.monotonic() - started >= PROMISE:
                slow.append(name)
            if answer.status_code >= 500:
                failed.append(f"{name}: {answer.status_code} {answer.text[:200]}")
        assert not slow, slow
        assert not failed, failed
        assert await _ready(running)
        back()
        await _background_resumes(running, received)
