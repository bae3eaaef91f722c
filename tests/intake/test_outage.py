"""Intake as a process while its servers are away: every endpoint answers within 2 s.

PostgreSQL, Redis and RabbitMQ are reached through proxies the test cuts (refused, reset) and
freezes (silent). With the store away, what needs it answers 503 problem+json with Retry-After
at once, what does not still answers, readiness turns false and back; with Redis or RabbitMQ
away, submissions are still accepted. Every submission acknowledged with 201 is stored once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.intake.channels.meta import signature
from services.workflow.issuer import Issuer
from shared.receipts import SECRET_HEADER, receipt_key, secret_for
from shared.settings import Settings
from shared.sop import Role
from tests.intake.conftest import IG_SECRET, LAPOR_INBOUND, WA_SECRET, channel_settings
from tests.intake.meta import ig_message, instagram, wa_text
from tests.intake.standins import http_standin
from tests.polling import eventually
from tests.system import System, with_free_ports
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.long, pytest.mark.store_deadline]  # make test-long

PROMISE = 2.0  # seconds: every answer while a server is away
FEED_TOKEN = "feed-token-for-the-test"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FORM: dict[str, Any] = {
    "text": "Lampu jalan di Jl. Veteran padam sejak seminggu.",
    "contact": {"name": "Siti Aminah", "phone": "+6281234500099"},
    "consent": True,
}
CONSULTATION = {"text": "Apa syarat membuat NIB?"}


@dataclass
class Proxies:
    postgres: TcpProxy
    redis: TcpProxy
    rabbitmq: TcpProxy

    def env(self, settings: Settings) -> dict[str, str]:
        amqp = urlsplit(settings.rabbitmq_url)
        netloc = f"{amqp.username}:{amqp.password}@127.0.0.1:{self.rabbitmq.port}"
        redis = urlsplit(settings.redis_url)
        return {
            "ADUAN_POSTGRES_PORT": str(self.postgres.port),
            "ADUAN_REDIS_URL": urlunsplit(redis._replace(netloc=f"127.0.0.1:{self.redis.port}")),
            "ADUAN_RABBITMQ_URL": urlunsplit(amqp._replace(netloc=netloc)),
        }


@pytest.fixture
async def proxies(settings: Settings) -> AsyncIterator[Proxies]:
    redis = urlsplit(settings.redis_url)
    amqp = urlsplit(settings.rabbitmq_url)
    made = Proxies(
        TcpProxy(settings.postgres_host, settings.postgres_port),
        TcpProxy(redis.hostname or "127.0.0.1", redis.port or 6379),
        TcpProxy(amqp.hostname or "127.0.0.1", amqp.port or 5672),
    )
    for proxy in (made.postgres, made.redis, made.rabbitmq):
        await proxy.start()
    try:
        yield made
    finally:
        for proxy in (made.postgres, made.redis, made.rabbitmq):
            proxy.thaw()
            await proxy.stop()


@dataclass
class Timed:
    name: str
    status: int
    seconds: float
    response: httpx.Response


class Client:
    """Intake's every endpoint, as each kind of caller calls it."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http, self.settings = http, settings
        self.acknowledged: list[str] = []  # tracking codes answered 201

    @property
    def officer(self) -> dict[str, str]:
        """Authorization for an administrator who also records."""
        issuer = Issuer(self.settings, self.settings.auth_signing_key.get_secret_value())
        roles = [Role.ADMIN, Role.PETUGAS]
        return {
            "Authorization": f"Bearer {issuer.mint(subject='admin-1', name='Petugas', roles=roles)}"
        }

    async def complaint(self) -> httpx.Response:
        answer = await self.http.post("/intake/v1/complaints", json=FORM)
        self._note(answer)
        return answer

    def _note(self, answer: httpx.Response) -> None:
        if answer.status_code == 201:
            self.acknowledged.append(answer.json()["tracking_code"])

    def _signed(self, path: str, payload: Any, secret: str) -> tuple[str, str, dict[str, Any]]:
        body = json.dumps(payload).encode()
        headers = {
            "content-type": "application/json",
            "x-hub-signature-256": signature(secret, body),
        }
        return "POST", path, {"content": body, "headers": headers}

    def calls(
        self, case_id: str, attachment_id: str, code: str
    ) -> dict[str, tuple[str, str, dict[str, Any]]]:
        """Every endpoint that needs the store: name -> (method, path, request arguments)."""
        unique = uuid4().hex
        feed = {"headers": {"X-Aduan-Service-Credential": FEED_TOKEN}}
        # the complainant's own endpoints, with the code's receipt secret (the store is away)
        own = {SECRET_HEADER: secret_for(receipt_key(FEED_TOKEN), code)} if code else {}
        return {
            "web json": ("POST", "/intake/v1/complaints", {"json": FORM}),
            "web consultation": ("POST", "/intake/v1/consultations", {"json": CONSULTATION}),
            "web multipart": (
                "POST",
                "/intake/v1/forms/complaints",
                {
                    "data": {"form": json.dumps(FORM)},
                    "files": {"files": ("a.png", PNG, "image/png")},
                },
            ),
            "officer": (
                "POST",
                "/intake/v1/officer/submissions",
                {
                    "json": {"channel": "letter", "text": "Surat keberatan."},
                    "headers": self.officer,
                },
            ),
            "whatsapp": self._signed(
                "/intake/v1/webhooks/whatsapp",
                wa_text("Jalan rusak di desa kami.", f"wamid.{unique}", sender="6281200000001"),
                WA_SECRET,
            ),
            "instagram": self._signed(
                "/intake/v1/webhooks/instagram",
                instagram(ig_message(f"mid.{unique}", "Jalan rusak.", sender="99" + unique[:8])),
                IG_SECRET,
            ),
            "lapor": (
                "POST",
                "/intake/v1/lapor/complaints",
                {
                    "json": {
                        "tracking_id": f"LAP-{unique[:8]}",
                        "title": "Izin bangunan",
                        "content": "PBG belum terbit.",
                        "anonim": True,
                        "rahasia": False,
                    },
                    "headers": {"Authorization": f"Bearer {LAPOR_INBOUND}"},
                },
            ),
            "survey": (
                "POST",
                "/intake/v1/surveys",
                {"json": {"tracking_code": code, "scores": [4] * 9}, "headers": own},
            ),
            "survey state": ("GET", f"/intake/v1/surveys/{code}", {"headers": own}),
            "own messages": ("GET", f"/intake/v1/own/{code}/messages", {"headers": own}),
            "own reply": (
                "POST",
                f"/intake/v1/own/{code}/replies",
                {"data": {"text": "Berikut foto yang diminta."}, "headers": own},
            ),
            "own resolution": (
                "POST",
                f"/intake/v1/own/{code}/resolution",
                {"json": {"solved": True}, "headers": own},
            ),
            "erasure": (
                "POST",
                "/intake/v1/erasures",
                {"json": {"phone": "+6281299999999"}, "headers": self.officer},
            ),
            "read submission": (
                "GET",
                f"/intake/v1/submissions/{case_id}",
                {"headers": self.officer},
            ),
            "read attachment": (
                "GET",
                f"/intake/v1/submissions/{case_id}/attachments/{attachment_id}",
                {"headers": self.officer},
            ),
            "feed events": ("GET", "/internal/v1/events", feed),
            "feed head": ("GET", "/internal/v1/head", feed),
        }

    def storeless(self, code: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
        """Endpoints that answer without the store."""
        verify = {
            "hub.mode": "subscribe",
            "hub.verify_token": "verify-wa",
            "hub.challenge": "1158201444",
        }
        return {
            "qr png": ("GET", "/intake/v1/qr.png", {}),
            "qr svg": ("GET", "/intake/v1/qr.svg", {}),
            "tracking qr": ("GET", f"/intake/v1/qr/track/{code}.svg", {}),
            "form options": ("GET", "/intake/v1/form-options", {}),
            "survey questions": ("GET", "/intake/v1/surveys/questions", {}),
            "webhook handshake": ("GET", "/intake/v1/webhooks/whatsapp", {"params": verify}),
            "healthz": ("GET", "/healthz", {}),
        }

    async def timed(self, name: str, call: tuple[str, str, dict[str, Any]]) -> Timed:
        method, path, arguments = call
        started = time.monotonic()
        answer = await self.http.request(method, path, **arguments)
        seconds = time.monotonic() - started
        if path in {"/intake/v1/complaints", "/intake/v1/forms/complaints"}:
            self._note(answer)
        return Timed(name, answer.status_code, seconds, answer)

    async def every(self, calls: dict[str, tuple[str, str, dict[str, Any]]]) -> list[Timed]:
        return list(await asyncio.gather(*(self.timed(n, c) for n, c in calls.items())))

    async def ready(self) -> bool:
        return (await self.http.get("/readyz")).status_code == 200


def assert_unavailable(answers: list[Timed]) -> None:
    slow = [(a.name, round(a.seconds, 2)) for a in answers if a.seconds >= PROMISE]
    assert not slow, f"slower than {PROMISE} s: {slow}"
    for answer in answers:
        assert answer.status == 503, (answer.name, answer.status, answer.response.text)
        assert answer.response.headers["content-type"] == "application/problem+json"
        assert int(answer.response.headers["retry-after"]) > 0
        assert answer.response.json()["type"] in {
            "/problems/store-unavailable",
            "/problems/write-timeout",
        }, (answer.name, answer.response.text)


def assert_answered(answers: list[Timed]) -> None:
    for answer in answers:
        assert answer.seconds < PROMISE, (answer.name, answer.seconds)
        assert answer.status == 200, (answer.name, answer.status, answer.response.text)


async def _stored(settings: Settings) -> dict[str, int]:
    """Each stored tracking code, with how many submissions' first events carry it."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        rows = await conn.fetch(
            "SELECT i.tracking_code, count(e.*) AS events FROM intake.submission_index i "
            "LEFT JOIN intake.submissions_events e ON e.originator_id = i.case_id "
            "AND e.originator_version = 1 GROUP BY i.tracking_code"
        )
    finally:
        await conn.close()
    return {row["tracking_code"]: row["events"] for row in rows}


async def _attachment(settings: Settings, code: str) -> tuple[str, str]:
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        row = await conn.fetchrow(
            "SELECT a.case_id, a.id FROM intake.attachments a JOIN intake.submission_index i "
            "ON i.case_id = a.case_id WHERE i.tracking_code = $1",
            code,
        )
    finally:
        await conn.close()
    assert row is not None
    return str(row["case_id"]), str(row["id"])


async def test_with_the_store_away_every_endpoint_answers_within_two_seconds(
    settings: Settings, tmp_path: Path, proxies: Proxies
) -> None:
    async with http_standin() as graph:
        configured = channel_settings(
            with_free_ports(settings), graph.url, internal_token=SecretStr(FEED_TOKEN)
        )
        system = System(configured, tmp_path)
        await system.start("intake", proxies.env(configured))
        try:
            async with httpx.AsyncClient(base_url=system.url("intake"), timeout=30) as http:
                client = Client(http, configured)
                seeded = await client.timed("seed", client.calls("", "", "")["web multipart"])
                assert seeded.status == 201, seeded.response.text
                code = seeded.response.json()["tracking_code"]
                case_id, attachment_id = await _attachment(configured, code)
                for _ in range(3):
                    assert (await client.complaint()).status_code == 201

                for fault in ("cut", "freeze"):
                    getattr(proxies.postgres, fault)()
                    # The first request of an outage may wait out one deadline; then readiness
                    # turns false, and every store endpoint answers 503 at once.
                    first = await client.timed(
                        "first", client.calls(case_id, attachment_id, code)["web json"]
                    )
                    assert_unavailable([first])
                    await eventually(lambda: _not(client.ready()), within=5)
                    for _ in range(2):
                        assert_unavailable(
                            await client.every(client.calls(case_id, attachment_id, code))
                        )
                        assert_answered(await client.every(client.storeless(code)))
                        started = time.monotonic()
                        assert not await client.ready()
                        assert time.monotonic() - started < PROMISE
                    proxies.postgres.thaw()
                    proxies.postgres.restore()
                    await eventually(client.ready, within=10)

                    async def accepted() -> bool:  # the writer's first commit reconnects
                        return (await client.complaint()).status_code == 201

                    await eventually(accepted, within=10)
                    for _ in range(3):
                        answer = await client.complaint()
                        assert answer.status_code == 201, (fault, answer.text)
                assert "Traceback" not in system.log_tail("intake", 400), system.log_tail("intake")
        finally:
            await system.stop("intake")
    stored = await _stored(configured)
    assert client.acknowledged
    for acknowledged in client.acknowledged:
        assert stored.get(acknowledged) == 1, acknowledged
    assert all(count == 1 for count in stored.values()), stored


async def test_a_freeze_under_load_answers_every_waiting_submission_in_time(
    settings: Settings, tmp_path: Path, proxies: Proxies
) -> None:
    configured = with_free_ports(settings).model_copy(update={"rate_ip_per_minute": 10_000})
    system = System(configured, tmp_path)
    await system.start("intake", proxies.env(configured))
    answers: list[tuple[int, float, str]] = []
    try:
        async with httpx.AsyncClient(base_url=system.url("intake"), timeout=30) as http:
            client = Client(http, configured)

            async def submit() -> None:
                started = time.monotonic()
                answer = await client.complaint()
                answers.append((answer.status_code, time.monotonic() - started, answer.text))

            async def load(seconds: float) -> None:
                until = time.monotonic() + seconds
                while time.monotonic() < until:
                    await asyncio.gather(*(submit() for _ in range(10)))

            loading = asyncio.create_task(load(4))
            await eventually(lambda: _true(len(answers) > 20), within=5)
            proxies.postgres.freeze()
            await loading
            proxies.postgres.thaw()
            await eventually(client.ready, within=10)
            assert (await client.complaint()).status_code == 201
    finally:
        await system.stop("intake")
    assert {status for status, _, _ in answers} <= {201, 503}, answers
    assert any(status == 503 for status, _, _ in answers)
    slowest = max(seconds for _, seconds, _ in answers)
    assert slowest < PROMISE, slowest
    stored = await _stored(configured)
    for acknowledged in client.acknowledged:
        assert stored.get(acknowledged) == 1, acknowledged
    assert all(count == 1 for count in stored.values()), stored


async def test_with_redis_or_rabbitmq_away_submissions_are_still_accepted_in_time(
    settings: Settings, tmp_path: Path, proxies: Proxies
) -> None:
    configured = with_free_ports(settings)
    system = System(configured, tmp_path)
    await system.start("intake", proxies.env(configured))
    try:
        async with httpx.AsyncClient(base_url=system.url("intake"), timeout=30) as http:
            client = Client(http, configured)
            for server, fault in (("redis", "cut"), ("redis", "freeze"), ("rabbitmq", "freeze")):
                proxy: TcpProxy = getattr(proxies, server)
                getattr(proxy, fault)()
                for _ in range(3):
                    started = time.monotonic()
                    answer = await client.complaint()
                    assert answer.status_code == 201, (server, fault, answer.text)
                    assert time.monotonic() - started < PROMISE, (server, fault)
                assert await client.ready(), (server, fault)
                proxy.thaw()
                proxy.restore()
            assert "Traceback" not in system.log_tail("intake", 400), system.log_tail("intake")
    finally:
        await system.stop("intake")
    stored = await _stored(configured)
    assert sorted(stored) == sorted(client.acknowledged)


async def _not(ready: Any) -> bool:
    return not await ready


async def _true(value: bool) -> bool:
    return value
