"""Attacks on the running office through both front doors (the gateway of `make up`, nginx as
docker-compose runs it) and on the services' own ports: none of them does harm."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import json
import socket
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from services.reporting.drawing import WAITING_AT_MOST
from shared import db
from shared.feed import CREDENTIAL_HEADER, service_credential
from shared.limits import WINDOW_SECONDS
from shared.receipt_guard import PER_ADDRESS_MISSES
from shared.service import SECURITY_HEADERS
from shared.settings import SERVICES, Settings
from shared.tracking_code import new_code
from tests.front_door import (
    DOORS,
    Answer,
    FrontDoors,
    exchange,
    front_doors,
    nginx,
    request_bytes,
)
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.polling import eventually
from tests.system import System, with_free_ports

pytestmark = pytest.mark.asyncio(loop_scope="module")

RATE_LIMIT = 5  # this module's office: public submissions per client address and minute
ZERO_ID = b"00000000-0000-0000-0000-000000000000"
COMPLAINT = json.dumps({"text": "Izin usaha saya belum selesai setelah tiga minggu."}).encode()
JSON = {b"Content-Type": b"application/json"}
# Every spelling of a way from a public prefix to a service's /internal or /metrics.
ESCAPES = [
    b"/{s}/../internal/v1/events?limit=5000",
    b"/{s}/%2e%2e/internal/v1/events?limit=5000",
    b"/{s}/%2E%2E/internal/v1/head",
    b"/{s}/.%2e/internal/v1/head",
    b"/{s}/..%2finternal/v1/events",
    b"/{s}/..%2Finternal/v1/events",
    b"/{s}%2f..%2finternal/v1/events",
    b"/{s}/%2e%2e%2finternal/v1/events",
    b"/{s}/..\\internal/v1/events",
    b"/{s}/..%5cinternal/v1/events",
    b"/{s}/%252e%252e/internal/v1/events",
    b"/{s}/..;/internal/v1/events",
    b"/{s}/;/../internal/v1/events",
    b"/{s}//../internal/v1/events",
    b"//internal/v1/events",
    b"/internal/v1/events",
    b"/{s}/internal/v1/events",
    b"/{s}/%69nternal/v1/events",
    b"/{s}/%6detrics",
    b"/{s}/./../internal/v1/head",
    b"/{s}/x/../../internal/v1/head",
    b"/{s}/v1/../../internal/v1/head",
    b"/{s}/%2e%2e/%2e%2e/internal/v1/head",
    b"/metrics",
    b"/{s}/metrics",
    b"/{s}/../metrics",
    b"/{s}/%2e%2e/metrics",
    b"/{s}/..%2fmetrics",
]
_addresses = itertools.count(10)


def fresh_address() -> str:
    """A loopback source address no other test of this module uses (per-address limits)."""
    return f"127.0.0.{next(_addresses)}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def office(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FrontDoors]:
    """One office for the module, behind the gateway and nginx."""
    settings = await create_isolated(
        base_settings().model_copy(update={"rate_ip_per_minute": RATE_LIMIT})
    )
    try:
        async with front_doors(with_free_ports(settings), tmp_path_factory.mktemp("office")) as it:
            yield it
    finally:
        await destroy_isolated(settings)


@pytest.fixture(params=DOORS)
def door(request: pytest.FixtureRequest) -> str:
    """One front door's name."""
    return str(request.param)


@pytest.fixture
def origin(door: str, office: FrontDoors) -> str:
    """The base URL of one front door."""
    return office.origin(door)


def harmless(answer: Answer) -> bool:
    """Neither a 5xx nor anything of an internal route or of metrics."""
    leaked = any(mark in answer.body for mark in (b'"events"', b'"head"', b"# HELP", b"python_"))
    return answer.status < 500 and not leaked


@pytest.mark.parametrize("spelling", ESCAPES)
async def test_no_spelling_reaches_internal_routes_or_metrics(origin: str, spelling: bytes) -> None:
    for service in SERVICES:
        target = spelling.replace(b"{s}", service.encode())
        answer = await exchange(origin, request_bytes("GET", target))
        assert harmless(answer), (target, answer)
        assert answer.status in (400, 404), (target, answer.status)
        assert answer.header("content-type")[0].startswith(
            ("application/problem+json", "text/html")
        ), (target, answer)


@pytest.mark.parametrize(
    "target", [b"/reporting/v1/vocabulary;x", b"/reporting/v1/track/A\\B", b"/intake/v1/;/x"]
)
async def test_a_semicolon_or_backslash_in_a_path_is_refused_at_both_doors(
    origin: str, target: bytes
) -> None:
    """Both doors refuse the same spellings (nginx passed them on to a 404)."""
    answer = await exchange(origin, request_bytes("GET", target))
    assert answer.status == 400, (target, answer)
    assert answer.header("content-type")[0] == "application/problem+json", answer


async def test_nginx_logs_the_path_of_a_search_never_its_query(office: FrontDoors) -> None:
    """Officers search cases by NIK, phone or name in the query string: nginx's access log
    keeps the path only (the gateway keeps no access log)."""
    nik, phone = "3525011201850003", "081234567891"
    target = f"/reporting/v1/cases?nik={nik}&phone={phone}&name=Budi+Santoso".encode()
    answer = await exchange(office.origin("nginx"), request_bytes("GET", target))
    assert answer.status == 401, answer
    log = office.nginx_files / "access.log"

    async def logged() -> str:
        text = log.read_text() if log.exists() else ""
        return text if "/reporting/v1/cases" in text else ""

    text = await eventually(logged)
    assert nik not in text
    assert phone not in text
    assert "Budi" not in text


@pytest.mark.parametrize("door", [*DOORS, "intake"])
async def test_a_body_declared_too_large_is_refused_without_a_continue(
    office: FrontDoors, door: str
) -> None:
    """A client that waits for "100 Continue" before sending what it declared (here 93 GiB)
    hears 413 at once, at either door and at the service itself (it was told to go on, and
    then waited on for ever)."""
    origin = office.system.url("intake") if door == "intake" else office.origin(door)
    declared = {**JSON, b"Content-Length": b"99999999999", b"Expect": b"100-continue"}
    request = request_bytes("POST", b"/intake/v1/complaints", declared)
    host, port = origin.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        # The first answer's head (nginx then lingers, waiting for a body, before it closes).
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()
    status, *fields = head.decode("latin-1").lower().split("\r\n")
    assert status.split()[1] == "413", head
    assert "content-type: application/problem+json" in fields, head


async def test_service_ports_refuse_internal_routes_without_the_credential(
    office: FrontDoors,
) -> None:
    settings = office.system.settings
    conn = await db.connect(settings)
    try:
        credential = await service_credential(settings, conn)
    finally:
        await conn.close()
    async with httpx.AsyncClient(timeout=10) as http:
        for service in SERVICES:
            url = f"{office.system.url(service)}/internal/v1/head"
            for presented in ({}, {CREDENTIAL_HEADER: "salah"}, {CREDENTIAL_HEADER: ""}):
                refused = await http.get(url, headers=presented)
                assert refused.status_code == 403, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
            allowed = await http.get(url, headers={CREDENTIAL_HEADER: credential})
            assert allowed.status_code == 200, allowed.text


async def test_metrics_are_served_on_the_service_port_only(office: FrontDoors) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for service in SERVICES:
            own = await http.get(f"{office.system.url(service)}/metrics")
            assert own.status_code == 200
            assert "# HELP" in own.text
            prefixed = await http.get(f"{office.system.url(service)}/{service}/metrics")
            assert prefixed.status_code == 404


async def submit(origin: str, local: str, spoofed: str) -> int:
    """One JSON complaint from `local`, claiming to come from `spoofed`; the status."""
    headers = JSON | {b"X-Forwarded-For": spoofed.encode(), b"X-Real-IP": spoofed.encode()}
    request = request_bytes("POST", b"/intake/v1/complaints", headers, COMPLAINT)
    return (await exchange(origin, request, local=local)).status


async def test_a_spoofed_forwarded_for_is_still_limited_by_the_real_address(origin: str) -> None:
    client, statuses = fresh_address(), []
    # The limit counts per minute: within twice the limit plus one, one window is full.
    for n in range(2 * RATE_LIMIT + 1):
        statuses.append(await submit(origin, client, f"203.0.113.{n}, 198.51.100.{n}"))
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429, statuses
    assert set(statuses) == {201, 429}, statuses
    assert await submit(origin, fresh_address(), "127.0.0.1") == 201


async def track(origin: str, local: str, spoofed: str) -> Answer:
    """A public lookup of a random code from `local`, claiming to come from `spoofed`."""
    headers = {b"X-Forwarded-For": spoofed.encode()}
    target = f"/reporting/v1/track/{new_code()}".encode()
    return await exchange(origin, request_bytes("GET", target, headers), local=local)


async def test_walking_tracking_codes_is_stopped_by_the_real_address(origin: str) -> None:
    """Codes looked up and not found count against the client's own address, whatever it
    claims in X-Forwarded-For; another address looks up as before."""
    walker = fresh_address()
    for n in range(PER_ADDRESS_MISSES):
        answer = await track(origin, walker, f"203.0.113.{n % 250}")
        assert answer.status == 404, answer
    stopped = await track(origin, walker, "198.51.100.7")
    assert stopped.status == 429, stopped
    assert json.loads(stopped.body)["type"] == "/problems/tracking-lookups-limited"
    assert int(stopped.header("retry-after")[0]) > 0
    assert (await track(origin, fresh_address(), walker)).status == 404


PUBLIC_READS = [
    b"/reporting/v1/rekap",
    b"/reporting/v1/rekap/years.csv?from=2020&to=2026",
    b"/reporting/v1/track/7K3M-9QXP",
    b"/open311/v2/services.json",
    b"/reporting/v1/dashboard/channels.svg?year=2026&month=1",
]


async def test_public_reads_in_a_loop_are_limited_by_the_real_address(tmp_path: Path) -> None:
    """One address reading the public pages in a loop held every database connection of
    reporting: past its limit it is a 429, whatever it claims in X-Forwarded-For, through
    either door; another address reads as before."""
    limit = 6
    settings = await create_isolated(
        base_settings().model_copy(update={"rate_public_reads_per_minute": limit})
    )
    try:
        async with front_doors(with_free_ports(settings), tmp_path) as doors:
            into_window = time.time() % WINDOW_SECONDS
            if into_window > WINDOW_SECONDS - 15:  # the reads must share one window
                await asyncio.sleep(WINDOW_SECONDS - into_window)
            for origin in doors.origins.values():
                reader = fresh_address()
                statuses = []
                for n in range(limit + 1):
                    spoofed = {b"X-Forwarded-For": f"203.0.113.{n}".encode()}
                    target = PUBLIC_READS[n % len(PUBLIC_READS)]
                    answer = await exchange(
                        origin, request_bytes("GET", target, spoofed), local=reader
                    )
                    statuses.append(answer.status)
                assert 429 not in statuses[:limit], (origin, statuses)
                assert statuses[limit] == 429, (origin, statuses)
                assert json.loads(answer.body)["type"] == "/problems/rate-limited"
                assert int(answer.header("retry-after")[0]) > 0
                other = request_bytes("GET", b"/reporting/v1/rekap")
                assert (await exchange(origin, other, local=fresh_address())).status == 200
    finally:
        await destroy_isolated(settings)


NON_ASCII_HEADERS = [
    {b"X-Nama": b"Bambang \xe9"},
    {b"X-Nama": "Siti Ñ 日本".encode()},
    {b"Authorization": b"Bearer \xff\xfe"},
]
ODD_HEADERS = [
    {b"Authorization": b"Bearer "},
    {b"Authorization": b"Bearer \t"},
    *NON_ASCII_HEADERS,
    {b"Accept": b"text/html\x7f"},
]
ODD_PATHS = [
    b"/intake/v1/complaints/%00",
    b"/intake/v1/complaints/%0a%0d",
    b"/workflow/v1/cases/%1b",
    b"/reporting/v1/%7f",
    b"/intake/v1/submissions/%ff%fe",
    b"/workflow/v1/cases/\xc3\xa9",
    b"/intake/v1/lacak/x?q=%00",
    b"/intake/v1/complaints?x=%0d%0a",
    b"/reporting/v1/rekap?year=%25%32",
    b"/lacak%00.html",  # a page path: the gateway looks it up as a file
    b"/%00",
    b"/" + b"x" * 300,  # a file name longer than the file system takes
]


async def test_odd_input_never_gives_a_5xx(office: FrontDoors) -> None:
    targets = [*office.origins.values(), *(office.system.url(s) for s in SERVICES)]
    for target in targets:
        for headers in ODD_HEADERS:
            answer = await exchange(target, request_bytes("GET", b"/workflow/v1/cases", headers))
            assert answer.status < 500, (target, headers, answer)
        for path in ODD_PATHS:
            answer = await exchange(target, request_bytes("GET", path))
            assert answer.status < 500, (target, path, answer)


async def test_what_the_gateway_cannot_forward_is_a_400_problem(office: FrontDoors) -> None:
    gateway = office.origin("gateway")
    for headers in NON_ASCII_HEADERS:
        answer = await exchange(gateway, request_bytes("GET", b"/workflow/v1/cases", headers))
        assert answer.status == 400, answer
        assert answer.header("content-type") == ["application/problem+json"]
    trailing = {b"Authorization": b"Bearer "}
    answer = await exchange(
        gateway, request_bytes("GET", b"/workflow/v1/cases/" + ZERO_ID, trailing)
    )
    assert answer.status == 401, answer


async def test_a_flood_of_request_headers_is_refused_without_delaying_others(origin: str) -> None:
    flood = request_bytes(
        "GET", b"/intake/v1/form-options", {b"X-A%d" % n: b"b" for n in range(20_000)}
    )
    flooding = asyncio.gather(*(exchange(origin, flood) for _ in range(4)))
    try:
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
            assert (await http.get("/intake/v1/form-options")).status_code == 200
        assert time.monotonic() - started < 2
    finally:
        refused = await flooding
    assert all(400 <= answer.status < 500 for answer in refused), refused


async def test_a_query_of_thousands_of_parameters_is_refused_without_delaying_others(
    origin: str,
) -> None:
    """A parameter repeated up to the door's limit on the length of an address, at each
    service: refused at once (the check of repeated parameters once grew with their square
    and held a service's loop for a second and a half each)."""
    repeated = "&".join(["to=1"] * 12_000).encode()
    floods = [
        request_bytes("GET", b"/reporting/v1/rekap/years?" + repeated),
        request_bytes("GET", b"/intake/v1/qr.png?" + repeated),
        request_bytes("GET", b"/workflow/v1/cases/" + ZERO_ID + b"?" + repeated),
    ]
    flooding = asyncio.gather(*(exchange(origin, f) for f in floods for _ in range(4)))
    try:
        started = time.monotonic()
        assert await submit(origin, fresh_address(), "") == 201
        async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
            years = await http.get("/reporting/v1/rekap/years", params={"from": 2024, "to": 2025})
            assert years.status_code == 200, years.text
        assert time.monotonic() - started < 2
    finally:
        refused = await flooding
    assert all(400 <= answer.status < 500 for answer in refused), refused


HOSTLESS = b"GET /reporting/v1/vocabulary HTTP/1.1\r\nConnection: close\r\n\r\n"
TWO_HOSTS = request_bytes("GET", b"/reporting/v1/vocabulary", {b"Host": b"a.test"}).replace(
    b"Host: a.test", b"Host: a.test\r\nHost: b.test"
)
FORGED_HOST = request_bytes("GET", b"/reporting/v1/vocabulary", {b"Host": b"a.test/../x"})


@pytest.mark.parametrize(
    "request_", [HOSTLESS, TWO_HOSTS, FORGED_HOST], ids=["none", "two", "forged"]
)
async def test_a_request_without_one_clean_host_is_a_400_problem(
    office: FrontDoors, request_: bytes
) -> None:
    """HTTP/1.1 asks a server to refuse a request without Host, with two, or with one no URI
    could have (RFC 9112 §3.2): at both doors and at the service's own port (all answered
    200)."""
    for origin in [*office.origins.values(), office.system.url("reporting")]:
        answer = await exchange(origin, request_)
        assert answer.status == 400, (origin, answer)
        assert answer.header("content-type")[0] == "application/problem+json", (origin, answer)


async def test_a_compressed_body_is_a_415_problem_naming_what_is_taken(office: FrontDoors) -> None:
    """A body in a content coding is refused as such, not decompressed (a zip bomb) nor read
    as plain text and called unreadable (400)."""
    body = gzip.compress(COMPLAINT)
    encoded = JSON | {b"Content-Encoding": b"gzip"}
    for origin in [*office.origins.values(), office.system.url("intake")]:
        answer = await exchange(
            origin, request_bytes("POST", b"/intake/v1/complaints", encoded, body)
        )
        assert answer.status == 415, (origin, answer)
        assert answer.header("content-type")[0] == "application/problem+json", (origin, answer)
        assert answer.header("accept-encoding") == ["identity"], (origin, answer)


@pytest.mark.parametrize("path", [b"/reporting/v1/vocabulary", b"/formulir"])
async def test_head_is_answered_as_get_without_the_body(origin: str, path: bytes) -> None:
    """Monitors and link checkers ask with HEAD: a GET resource answers it (it was a 405)."""
    got = await exchange(origin, request_bytes("GET", path))
    head = await exchange(origin, request_bytes("HEAD", path))
    assert head.status == got.status == 200, (got, head)
    assert head.body == b""
    assert head.header("content-type") == got.header("content-type")


@pytest.mark.parametrize(
    "request_",
    [
        request_bytes("GET", b"/reporting/v1/vocabulary?q=" + b"a" * 70_000),
        request_bytes("GET", b"/formulir", {b"Cookie": b"a" * 40_000}),
        request_bytes("GET", b"/formulir", {b"X-Long": b"a" * 9_000}),
        b"GET /formulir HTTP/1.1\r\nHost: a\r\nBroken header\r\n\r\n",
        b"GET /formulir HTTP/9.9\r\nHost: a\r\n\r\n",
    ],
    ids=["long-address", "huge-cookie", "long-header", "broken-header", "odd-version"],
)
async def test_a_request_a_door_cannot_read_is_a_problem_not_a_page(
    origin: str, request_: bytes
) -> None:
    """What a door refuses before any service sees it is problem+json as every other refusal
    (nginx answered its own HTML pages)."""
    answer = await exchange(origin, request_)
    assert 400 <= answer.status < 500, answer
    assert answer.header("content-type")[:1] == ["application/problem+json"], answer


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT"])
async def test_a_method_no_door_takes_is_a_problem_not_plain_text(origin: str, method: str) -> None:
    for path in (b"/", b"/formulir", b"/intake/v1/complaints", b"/open311/v2/services.json"):
        answer = await exchange(origin, request_bytes(method, path))
        assert 400 <= answer.status < 500, (method, path, answer)
        assert "json" in " ".join(answer.header("content-type")), (method, path, answer)
        assert answer.header("x-content-type-options") == ["nosniff"], (method, path, answer)


@pytest.mark.parametrize("ranges", ["bytes=5-2", "bytes=abc", "pages=1-2"])
async def test_an_unreadable_range_on_a_page_is_ignored(origin: str, ranges: str) -> None:
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        whole = await http.get("/formulir")
        ranged = await http.get("/formulir", headers={"Range": ranges})
    assert ranged.status_code == 200, ranged.text
    assert ranged.content == whole.content


async def test_many_slow_senders_do_not_delay_other_submissions(origin: str) -> None:
    """More requests held open than a connection pool's usual hundred (a body trickling in,
    or a live stream): each door still forwards the next visitor at once."""
    host, port = origin.removeprefix("http://").split(":")
    head = request_bytes("POST", b"/intake/v1/complaints", JSON, COMPLAINT)
    slow = head.replace(b"Content-Length: %d" % len(COMPLAINT), b"Content-Length: 100000")
    writers = []
    try:
        for _ in range(120):
            _, writer = await asyncio.open_connection(host, int(port))
            writer.write(slow[: -len(COMPLAINT)] + b'{"text": "Izin')
            writers.append(writer)
        await asyncio.gather(*(writer.drain() for writer in writers))
        started = time.monotonic()
        assert await submit(origin, fresh_address(), "") == 201
        assert time.monotonic() - started < 5
    finally:
        for writer in writers:
            writer.close()


async def test_one_address_holding_hundreds_of_slow_uploads_stops_no_one_else(
    origin: str, door: str
) -> None:
    """nginx kept its defaults (one worker, 512 connections): one client holding 560 uploads
    that trickle in left every other visitor without an answer. Each address now holds at
    most a hundred; past them it hears 429 at once, and everyone else is answered."""
    host, port = origin.removeprefix("http://").split(":")
    holder = fresh_address()
    head = request_bytes("POST", b"/intake/v1/complaints", JSON, COMPLAINT)
    slow = head.replace(b"Content-Length: %d" % len(COMPLAINT), b"Content-Length: 100000")
    writers = []
    try:
        for _ in range(600):
            _, writer = await asyncio.open_connection(host, int(port), local_addr=(holder, 0))
            writer.write(slow[: -len(COMPLAINT)] + b'{"text": "Izin')
            writers.append(writer)
        await asyncio.gather(*(writer.drain() for writer in writers))
        for _ in range(3):
            started = time.monotonic()
            answer = await exchange(origin, VOCABULARY, local=fresh_address())
            assert answer.status == 200, answer
            assert time.monotonic() - started < 5
        if door == "nginx":
            more = await exchange(origin, VOCABULARY, local=holder)
            assert more.status == 429, more
            assert more.header("content-type") == ["application/problem+json"], more
            assert more.header("x-content-type-options") == ["nosniff"], more
    finally:
        for writer in writers:
            writer.close()


VOCABULARY = request_bytes("GET", b"/reporting/v1/vocabulary")


@pytest.mark.parametrize(
    "request_",
    [
        request_bytes(
            "POST",
            b"/intake/v1/complaints",
            JSON | {b"Transfer-Encoding": b"gzip, chunked"},
        )
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(COMPLAINT), COMPLAINT),
        request_bytes("POST", b"/intake/v1/complaints", JSON | {b"Transfer-Encoding": b"identity"})
        + COMPLAINT,
    ],
    ids=["gzip-chunked", "identity"],
)
async def test_a_transfer_coding_other_than_chunked_is_a_501_problem(
    origin: str, request_: bytes
) -> None:
    """nginx answered its stock HTML page; the gateway stored the body as if it were plain.
    (The gateway's parser refuses `identity` itself: a 400 problem.)"""
    answer = await exchange(origin, request_, local=fresh_address())
    assert answer.status in (400, 501), answer
    assert answer.header("content-type") == ["application/problem+json"], answer


@pytest.mark.parametrize("method", ["OPTIONS", "GET"])
async def test_a_target_that_is_no_path_is_a_400_problem(origin: str, method: str) -> None:
    answer = await exchange(origin, request_bytes(method, b"*"), local=fresh_address())
    assert answer.status == 400, answer
    assert answer.header("content-type") == ["application/problem+json"], answer


async def test_a_websocket_upgrade_is_answered_as_the_plain_request(origin: str) -> None:
    """No door speaks WebSocket: the gateway answered 403 with an empty plain-text body."""
    upgrade = {
        b"Connection": b"Upgrade, close",
        b"Upgrade": b"websocket",
        b"Sec-WebSocket-Version": b"13",
        b"Sec-WebSocket-Key": b"dGhlIHNhbXBsZSBub25jZQ==",
    }
    request_ = request_bytes("GET", b"/reporting/v1/vocabulary", upgrade)
    answer = await exchange(origin, request_, local=fresh_address())
    assert answer.status == 200, answer
    assert answer.header("content-type") == ["application/json"], answer


@pytest.mark.parametrize(
    "path",
    [
        b"/reporting/v1/%2e%2e/rekap.xlsx",
        b"/reporting/v1/x;y.pdf",
        b"/intake/internal/x.html",
        b"/intake/internal/x.svg",
    ],
)
async def test_a_refused_path_named_like_a_file_is_a_problem_not_that_file(
    origin: str, path: bytes
) -> None:
    """nginx typed its own refusals by the path's extension: a workbook, a PDF, a page."""
    answer = await exchange(origin, request_bytes("GET", path), local=fresh_address())
    assert answer.status in (400, 404), answer
    assert answer.header("content-type") == ["application/problem+json"], answer


async def test_a_path_with_a_trailing_slash_is_no_redirect_to_a_service_port(origin: str) -> None:
    for method, path in (
        ("GET", b"/reporting/v1/track/ABCD-EFGH/"),
        ("POST", b"/intake/v1/complaints/"),
    ):
        answer = await exchange(origin, request_bytes(method, path, JSON, COMPLAINT))
        assert answer.status == 404, (path, answer)
        assert answer.header("location") == [], (path, answer.headers)


async def test_a_forwarded_answer_says_its_date_and_server_once(origin: str) -> None:
    answer = await exchange(origin, request_bytes("GET", b"/intake/v1/form-options"))
    assert answer.status == 200
    assert len(answer.header("date")) == 1, answer.headers
    assert len(answer.header("server")) <= 1, answer.headers


PAGES_AND_ANSWERS = [
    "/",
    "/lacak",
    "/petugas/masuk",
    "/aset/app.js",
    "/tidak-ada",
    "/intake/openapi.json",
    "/intake/v1/tidak-ada",
    "/workflow/v1/cases",
    "/reporting/readyz",
    "/workflow/../internal/v1/head",
]


@pytest.mark.parametrize("path", PAGES_AND_ANSWERS)
async def test_every_page_and_answer_carries_the_security_headers(origin: str, path: str) -> None:
    answer = await exchange(origin, request_bytes("GET", path.encode()))
    for name, value in SECURITY_HEADERS.items():
        assert answer.header(name) == [value], (path, name, answer.headers)


@pytest.mark.parametrize(
    ("path", "size"),
    [("/intake/v1/complaints", 300 * 1024), ("/intake/v1/forms/complaints", 12 * 1024 * 1024)],
)
async def test_a_body_over_the_limit_is_a_413_problem(origin: str, path: str, size: int) -> None:
    body = b'{"text": "' + b"a" * size + b'"}'
    async with httpx.AsyncClient(base_url=origin, timeout=30) as http:
        answer = await http.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 413


async def test_a_slow_sender_does_not_delay_other_submissions(origin: str) -> None:
    host, port = origin.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = request_bytes("POST", b"/intake/v1/complaints", JSON, COMPLAINT)
    slow = head.replace(b"Content-Length: %d" % len(COMPLAINT), b"Content-Length: 100000")
    writer.write(slow[: -len(COMPLAINT)] + b'{"text": "Izin')
    await writer.drain()
    try:
        for _ in range(3):
            started = time.monotonic()
            assert await submit(origin, fresh_address(), "") == 201
            assert time.monotonic() - started < 5
            writer.write(b" usaha")  # a trickle, still far from the declared length
            await writer.drain()
    finally:
        writer.close()
    del reader


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/", "text/html"), ("/lacak", "text/html"), ("/aset/app.js", "javascript")],
)
async def test_pages_and_scripts_have_their_types(origin: str, path: str, media_type: str) -> None:
    # Module scripts run only with a JavaScript type (and nosniff forbids guessing).
    answer = await exchange(origin, request_bytes("GET", path.encode()))
    assert answer.status == 200
    assert media_type in answer.header("content-type")[0]


async def test_an_agency_form_page_comes_through_both_doors(
    origin: str, office: FrontDoors
) -> None:
    home = office.system.settings.agency
    page = await exchange(origin, request_bytes("GET", f"/instansi/{home}/pengaduan".encode()))
    assert page.status == 200
    assert "text/html" in page.header("content-type")[0]
    assert f'name="aduan-instansi" content="{home}"'.encode() in page.body
    unknown = await exchange(origin, request_bytes("GET", b"/instansi/tidak-ada/pengaduan"))
    assert unknown.status == 404
    assert b"Instansi tidak ditemukan" in unknown.body


@contextlib.asynccontextmanager
async def doors_alone(tmp_path: Path) -> AsyncIterator[tuple[Settings, list[str]]]:
    """Both front doors with no service behind them: the settings, and the doors' origins."""
    settings = with_free_ports(base_settings())
    system = System(settings, tmp_path)
    await system.start("gateway")
    try:
        async with nginx(system.settings, tmp_path / "nginx") as behind_nginx:
            yield settings, [system.url("gateway"), behind_nginx]
    finally:
        await system.stop("gateway")


async def test_a_service_that_is_down_is_a_503_to_try_again(tmp_path: Path) -> None:
    """A service restarting (nothing listens): nothing reached it, so a 503 with Retry-After,
    as the service itself answers while its servers are away (not a 502 with no hint)."""
    async with doors_alone(tmp_path) as (_, origins):
        for origin in origins:
            answer = await exchange(origin, request_bytes("GET", b"/intake/v1/tidak-ada"))
            assert answer.status == 503, answer
            assert answer.header("content-type") == ["application/problem+json"]
            assert json.loads(answer.body)["status"] == 503
            assert int(answer.header("retry-after")[0]) > 0
            assert answer.header("x-content-type-options") == ["nosniff"]


@contextlib.asynccontextmanager
async def killed_on_its_first_request(port: int) -> AsyncIterator[None]:
    """A service process killed while it has a request: the connection reset, and nothing
    listening on its port afterwards (until it is restarted)."""
    listening: asyncio.Server | None = None

    async def killed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert listening is not None
        listening.close()  # nothing listens any more
        await reader.readuntil(b"\r\n\r\n")
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # a reset, as the kernel sends for a killed process

    listening = await asyncio.start_server(killed, "127.0.0.1", port)
    try:
        yield
    finally:
        listening.close()


async def test_a_service_killed_while_it_has_a_request_is_answered_as_it_may_be(
    tmp_path: Path,
) -> None:
    """A GET is sent again and finds the service restarting: 503, try again (the gateway said
    502, nothing to retry). A POST is not sent again, and is told it may have been processed:
    both doors said the service could not be reached, for a submission it had stored."""
    async with doors_alone(tmp_path) as (settings, origins):
        for origin in origins:
            async with killed_on_its_first_request(settings.port("reporting")):
                answer = await exchange(origin, request_bytes("GET", b"/reporting/v1/rekap"))
            assert answer.status == 503, (origin, answer)
            assert json.loads(answer.body)["type"] == "/problems/service-unavailable"
            assert int(answer.header("retry-after")[0]) > 0
            posted = request_bytes(
                "POST",
                b"/intake/v1/complaints",
                {b"Content-Type": b"application/json"},
                b'{"text": "Antrean di loket terlalu lama."}',
            )
            async with killed_on_its_first_request(settings.port("intake")):
                answer = await exchange(origin, posted)
            assert answer.status in (502, 503), (origin, answer)
            assert answer.header("content-type") == ["application/problem+json"]
            assert "mungkin sudah diproses" in json.loads(answer.body)["detail"], answer


@pytest.mark.long  # make test-long
async def test_a_flood_of_public_files_is_drawn_or_turned_away_while_others_are_answered(
    origin: str,
) -> None:
    """Files are drawn beside the event loop, in turn: a flood of the widest public PDF through
    the door is answered, each with the file, a 429 (one address has a few files on the way at
    most) or a 503 drawing-busy problem (never another 5xx, never a hang), and the public rekap
    answers at once meanwhile."""
    url = f"{origin}/reporting/v1/rekap/years.pdf?from=2000&to=2029"
    limits = httpx.Limits(max_connections=WAITING_AT_MOST + 32)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        first = await http.get(url)  # the printing libraries loaded
        assert first.status_code == 200, first.text
        flood = [asyncio.create_task(http.get(url)) for _ in range(WAITING_AT_MOST + 16)]
        await asyncio.sleep(0)  # the flood's requests under way
        began = time.monotonic()
        rekap = await http.get(f"{origin}/reporting/v1/rekap")
        waited = time.monotonic() - began
        answers = await asyncio.gather(*flood)
    assert rekap.status_code == 200, rekap.text
    # Drawn on the event loop, the rekap waited for every file asked before it (about 6 s).
    assert waited < 2, f"the rekap answered in {waited:.2f} s during a flood of files"
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 429, 503}, statuses
    assert 200 in statuses, statuses
    refusals = {429: "/problems/files-per-officer", 503: "/problems/drawing-busy"}
    for answer in answers:
        if answer.status_code in refusals:  # one address: a few files at once (429)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["type"] == refusals[answer.status_code]
            assert answer.headers["retry-after"]
