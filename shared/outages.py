"""A server away: every endpoint that needs it answers 503 at once, and the log says so once.

Each service names the servers it talks to (`SERVERS`) and the exceptions by which each one
shows it is unreachable (`UNREACHABLE`). An endpoint whose server is away raises one of those,
or `Unavailable` itself when a call ran past its deadline (`within`); the handlers installed
by `install` answer 503 problem+json with `Retry-After`. `OUTAGES` remembers which servers are
away in this process: the first failure of an outage is logged as one line (never a traceback
per request), the first success after it as one more, and the gauge `aduan_server_up` follows.
A process that runs `watch` on a server may also use `OUTAGES.check` as a breaker: while the
server is known away, requests answer 503 at once, and the watch's probe ends the outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import aio_pika.exceptions
import aiormq.exceptions
import asyncpg
import psycopg
import psycopg_pool
import redis.exceptions
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import Gauge

from shared.problems import Problem, problem_response

log = logging.getLogger(__name__)

Server = Literal["postgres", "rabbitmq", "redis"]
T = TypeVar("T")

DEADLINE_SECONDS = 1.5
"""How long a request waits on one server call before it answers 503 (the 2 s promise)."""
RETRY_AFTER_SECONDS = 5
LATE_SECONDS = 0.1
"""A deadline noticed this long after it passed: the event loop was busy (a flood, a file
drawn on it), and the call's answer may have arrived in time, unread."""
AWAY_SECONDS = 0.5
"""A request's deadline on a server while an outage of it is on: the call is then a probe (a
server back answers at once), and the request answers well within the 2 s promise."""


@dataclass(frozen=True)
class ServerFacts:
    """What the public is told about a server being away, and what its failures look like."""

    role: str  # the problem type: /problems/<role>-unavailable
    detail: str  # Bahasa Indonesia, names nothing internal
    errors: tuple[type[Exception], ...]


SERVERS: dict[Server, ServerFacts] = {
    "postgres": ServerFacts(
        "store",
        "Penyimpanan data sedang tidak dapat dihubungi; permintaan ini belum diproses. "
        "Silakan coba lagi beberapa saat lagi.",
        (
            asyncpg.PostgresConnectionError,
            asyncpg.CannotConnectNowError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.AdminShutdownError,
            asyncpg.exceptions.ConnectionDoesNotExistError,
            psycopg.OperationalError,
            psycopg_pool.PoolTimeout,
            OperationalError,
            InterfaceError,
        ),
    ),
    "rabbitmq": ServerFacts(
        "broker",
        "Antrean pesan sedang tidak dapat dihubungi; permintaan ini belum diproses. "
        "Silakan coba lagi beberapa saat lagi.",
        (aio_pika.exceptions.AMQPConnectionError, aiormq.exceptions.AMQPConnectionError),
    ),
    "redis": ServerFacts(
        "cache",
        "Layanan pendukung sedang tidak dapat dihubungi; permintaan ini belum diproses. "
        "Silakan coba lagi beberapa saat lagi.",
        (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
    ),
}

SERVER_UP = Gauge("aduan_server_up", "0 while this process finds a server away", ["server"])


class Unavailable(Problem):
    """503: a server this request needs is away (refused, reset, or silent past a deadline)."""

    def __init__(self, server: Server) -> None:
        facts = SERVERS[server]
        super().__init__(
            503,
            facts.detail,
            code=f"{facts.role}-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        self.server = server


class Outages:
    """Which servers this process finds away, since when; one log line at each change."""

    def __init__(self) -> None:
        self._since: dict[Server, float] = {}

    def down(self, server: Server, reason: object) -> None:
        """`server` failed a call: start an outage (logged once) unless one is on."""
        if server in self._since:
            return
        self._since[server] = time.monotonic()
        SERVER_UP.labels(server).set(0)
        log.warning("%s unavailable (%s); answering 503 until it is back", server, _why(reason))

    def up(self, server: Server) -> None:
        """`server` answered: end its outage (logged once) if one was on."""
        SERVER_UP.labels(server).set(1)
        since = self._since.pop(server, None)
        if since is not None:
            log.warning("%s back after %.1f s", server, time.monotonic() - since)

    def is_down(self, server: Server) -> bool:
        """Whether an outage of `server` is on in this process."""
        return server in self._since

    def deadline(self, server: Server, seconds: float = DEADLINE_SECONDS) -> float:
        """How long a request waits on `server`: `seconds`, or AWAY_SECONDS while an outage of
        it is on (the request tries, as a probe, but no longer waits out a full deadline)."""
        return min(seconds, AWAY_SECONDS) if server in self._since else seconds

    def check(self, server: Server) -> None:
        """The breaker: Unavailable at once while an outage of `server` is on, instead of each
        request waiting out a deadline. Only for a process that runs `watch` on `server`
        (nothing else ends an outage no request tries)."""
        if server in self._since:
            raise Unavailable(server)


OUTAGES = Outages()


def _why(reason: object) -> str:
    if isinstance(reason, BaseException):
        text = str(reason).splitlines()[0] if str(reason) else ""
        return f"{type(reason).__name__}: {text}" if text else type(reason).__name__
    return str(reason)


def server_of(error: BaseException) -> Server | None:
    """The server whose unavailability `error` shows, if it shows one."""
    for server, facts in SERVERS.items():
        if isinstance(error, facts.errors):
            return server
    return None


async def answered(call: Awaitable[T], seconds: float) -> T:
    """`call`'s result, or TimeoutError once `seconds` have passed without one.

    Unlike `asyncio.wait_for`, this does not wait for the abandoned call to finish cancelling:
    a client library cleaning up a connection to a silent server (asyncpg's release sends a
    cancel request and waits for the server's answer) would otherwise hold the caller as long
    as the server stays silent. The abandoned call ends in the background."""
    loop = asyncio.get_running_loop()
    due = loop.time() + seconds
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:  # the caller gave up (a client gone): so does the call
        _abandon(task)
        raise
    if not done:
        _abandon(task)
        raise LateLoop if loop.time() - due > LATE_SECONDS else TimeoutError
    return task.result()


class LateLoop(TimeoutError):
    """The deadline passed while this process's event loop was busy with other work: noticed
    `LATE_SECONDS` or more after it, with the server's answer perhaps unread in the socket. A
    sign of this process's load, not of the server: no outage is declared for it (Busy), and
    one already declared goes on (Unavailable)."""


def _abandon(task: asyncio.Future[Any]) -> None:
    task.cancel()
    task.add_done_callback(_quietly)


def _quietly(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned call's outcome, so that nothing is logged for it."""
    if not task.cancelled():
        task.exception()


class Busy(Problem):
    """503: the request waited its deadline for one of the process's connections to a server,
    every one taken by other requests, or for its own turn on a busy event loop (`LateLoop`):
    busy, not away (no outage is declared)."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "Layanan sedang sibuk; permintaan ini belum diproses. Silakan coba lagi sebentar lagi.",
            code="busy",
            headers={"Retry-After": "1"},
        )


async def within(
    server: Server,
    call: Awaitable[T],
    seconds: float = DEADLINE_SECONDS,
    busy: Callable[[], bool] | None = None,
) -> T:
    """`call`'s result, or Unavailable if it has not answered within `seconds` or failed the
    way an unreachable `server` fails. A success ends the server's outage. `busy`: whether the
    call, at its deadline, is still waiting for a connection that others hold (then Busy); a
    caller that gives it is told Busy too for a deadline this process noticed late (`LateLoop`)
    while no outage is on."""
    try:
        result = await answered(call, seconds)
    except TimeoutError as timeout:
        late = isinstance(timeout, LateLoop) and not OUTAGES.is_down(server)
        if busy is not None and (busy() or late):  # this process was slow, not the server
            raise Busy() from None
        OUTAGES.down(server, f"no answer within {seconds:g} s")
        raise Unavailable(server) from None
    except Exception as error:
        if unreachable(server, error):
            OUTAGES.down(server, error)
            raise Unavailable(server) from None
        raise
    OUTAGES.up(server)
    return result


def unreachable(server: Server, error: BaseException) -> bool:
    """Whether `error` shows `server` unreachable: one of its clients' errors, or an OSError
    (refused, reset, unreachable, as the clients raise them while connecting)."""
    return isinstance(error, (*SERVERS[server].errors, OSError))


async def watch(
    server: Server,
    probe: Callable[[], Awaitable[bool]],
    every: float = 0.5,
    seconds: float = DEADLINE_SECONDS,
) -> None:
    """While an outage of `server` is on, probe it every `every` seconds (each probe within
    `seconds`); the first probe answering True ends the outage. Runs until cancelled."""
    while True:
        await asyncio.sleep(every)
        if not OUTAGES.is_down(server):
            continue
        try:
            back = await answered(probe(), seconds)
        except Exception as error:  # noqa: BLE001 - any failure: still away (logged once)
            log.debug("%s probe failed: %s", server, _why(error))
            continue
        if back:
            OUTAGES.up(server)


def install(app: FastAPI, servers: tuple[Server, ...]) -> None:
    """Answer 503 for the unreachability errors of `servers` escaping any endpoint of `app`."""

    async def handler(request: Request, exc: Exception) -> Response:
        server = exc.server if isinstance(exc, Unavailable) else server_of(exc)
        assert server is not None
        if not isinstance(exc, Unavailable):
            OUTAGES.down(server, exc)
        return problem_response(Unavailable(server), request.url.path)

    app.add_exception_handler(Unavailable, handler)
    for server in servers:
        for error in SERVERS[server].errors:
            app.add_exception_handler(error, handler)
