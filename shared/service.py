"""What every service process has: health, metrics, problem+json, body limit, background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from functools import partial
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared import apidocs, pii
from shared.broker import quiet_broker_noise
from shared.db import Pool
from shared.metrics import HTTP_LATENCY, READY
from shared.outages import DEADLINE_SECONDS, answered
from shared.problems import (
    MEDIA_TYPE,
    MESSAGES,
    PROBLEM_SCHEMA,
    TITLES,
    BodyLimit,
    Problem,
    RequestHead,
    install_problem_handlers,
)
from shared.settings import Settings
from shared.text import CONTROL, CONTROL_MESSAGE

log = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]
ReadinessCheck = Callable[[], Awaitable[bool]]


def create_service_app(
    *, service: str, settings: Settings, lifespan: Lifespan, version: str = "1"
) -> FastAPI:
    """A FastAPI app with the parts every Aduan service shares."""
    app = FastAPI(
        title=f"Aduan {service}",
        version=version,
        lifespan=lifespan,
        openapi_url=f"/{service}/openapi.json",
        docs_url=None,  # shared.apidocs serves it, with its assets, from this service
        redoc_url=None,
        dependencies=[Depends(refuse_unknown_query)],
        # No 307 to the path without its slash: behind a front door that redirect names the
        # service's own address (the gateway does not pass the Host on); a 404 names nothing.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.readiness = {}
    app.state.degraded = {}  # name -> whether the service works without it now (/readyz says)
    install_problem_handlers(app)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        upload_limit=settings.max_upload_bytes,
        webhook_limit=settings.max_webhook_bytes,
        most=settings.largest_body_bytes,
    )
    app.add_middleware(HttpMetrics, service=service)
    app.add_middleware(RequestHead, most=settings.largest_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    app.include_router(_operations_router(service))
    apidocs.install(app, service)
    app.openapi = partial(_problem_openapi, app)  # type: ignore[method-assign]
    return app


def _problem_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI with every error response documented as problem+json."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                if "requestBody" in operation:  # an unreadable body: 400 before validation
                    operation["responses"].setdefault("400", {"description": "Problem"})
                for status, response in operation.get("responses", {}).items():
                    # Open311's errors document their own formats (shared/open311.py).
                    if status[0] in "45" and "text/xml" not in response.get("content", {}):
                        response["content"] = PROBLEM_SCHEMA["content"]
        for unused in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def _query_params(dependant: Dependant) -> dict[str, bool]:
    """Each query parameter a dependant declares (its dependencies' included): whether it
    takes several values (a list) or one."""
    params = {
        param.alias: _takes_many(param.field_info.annotation) for param in dependant.query_params
    }
    for sub in dependant.dependencies:
        params |= _query_params(sub)
    return params


def _takes_many(annotation: Any) -> bool:
    """Whether a parameter's type is a sequence (`list[str] | None` included)."""
    if get_origin(annotation) in (Union, UnionType, Annotated):
        return any(_takes_many(arg) for arg in get_args(annotation) if arg is not type(None))
    return get_origin(annotation) in (list, tuple, set, frozenset, Sequence)


_QUERY: dict[int, tuple[frozenset[str], frozenset[str]]] = {}


def _route_query(route: APIRoute) -> tuple[frozenset[str], frozenset[str]]:
    """The query parameters a route declares, and those of them that take one value."""
    key = id(route)
    if key not in _QUERY:
        params = _query_params(route.dependant)
        single = frozenset(name for name, many in params.items() if not many)
        _QUERY[key] = (frozenset(params), single)
    return _QUERY[key]


async def refuse_unknown_query(request: Request) -> None:
    """A query parameter the route does not know, or one that takes one value given several
    times, is a mistake worth saying (422), not ignoring (keeping only the last)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    given = request.query_params.multi_items()
    if len(given) > MOST_QUERY_PARAMETERS:  # no route takes more; each would cost a check
        detail = f"Terlalu banyak parameter (paling banyak {MOST_QUERY_PARAMETERS})."
        raise Problem(422, detail, code="validation")
    known, single = _route_query(route)
    unknown = sorted(set(request.query_params) - known)
    controlled = sorted({k for k, v in given if CONTROL.search(v)})
    if controlled:
        errors = [
            {"field": k, "code": "control_character", "message": CONTROL_MESSAGE}
            for k in controlled
        ]
        raise Problem(422, "Parameter memuat karakter kontrol.", code="validation", errors=errors)
    if unknown:
        errors = [
            {"field": name, "code": "extra_forbidden", "message": MESSAGES["extra_forbidden"]}
            for name in unknown
        ]
        raise Problem(
            422, f"Parameter tidak dikenal: {', '.join(unknown)}.", code="validation", errors=errors
        )
    counts = Counter(name for name, _ in given)
    repeated = sorted(name for name, times in counts.items() if name in single and times > 1)
    if repeated:
        errors = [
            {"field": name, "code": "repeated", "message": REPEATED_MESSAGE} for name in repeated
        ]
        raise Problem(
            422,
            f"Parameter diberikan lebih dari sekali: {', '.join(repeated)}.",
            code="validation",
            errors=errors,
        )


REPEATED_MESSAGE = "Parameter ini hanya menerima satu nilai."
MOST_QUERY_PARAMETERS = 200
"""Query parameters one request may give (a search's filters, repeated, stay far below)."""


def _operations_router(service: str) -> APIRouter:
    router = APIRouter(tags=["operations"])

    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    measured = SharedReadiness(service)

    async def readyz(request: Request) -> JSONResponse:
        results = await measured(request.app.state.readiness)
        status = 200 if all(results.values()) else 503
        body: dict[str, Any] = {"ready": status == 200, "checks": results}
        degraded: dict[str, Callable[[], bool]] = request.app.state.degraded
        if without := sorted(name for name, now in degraded.items() if now()):
            body["degraded"] = without  # ready all the same, e.g. reading without its replica
        return JSONResponse(body, status)

    async def metrics(request: Request) -> Response:
        # Readiness as Prometheus sees it (aduan_ready), measured now as /readyz measures it:
        # at most METRICS_WAIT_SECONDS, then as the last finished run left it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(measured(request.app.state.readiness), METRICS_WAIT_SECONDS)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for prefix in ("", f"/{service}"):
        router.add_api_route(f"{prefix}/healthz", healthz, methods=["GET"], include_in_schema=False)
        router.add_api_route(f"{prefix}/readyz", readyz, methods=["GET"], include_in_schema=False)
    # Only on the service's own port: no front door forwards a path outside the prefix.
    router.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    return router


METRICS_WAIT_SECONDS = 1.0
"""How long a scrape of /metrics waits for the readiness checks it runs. A silent server holds
its check for the whole deadline (1.5 s): the scrape then answers with the gauges as the last
finished run set them, well within the 2 s promise, and the run goes on for the next."""


class SharedReadiness:
    """A service's readiness checks, run once for the callers that ask at the same time (a
    scrape of /metrics and a probe of /readyz do not each take a connection)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._run: asyncio.Future[dict[str, bool]] | None = None

    async def __call__(self, checks: dict[str, ReadinessCheck]) -> dict[str, bool]:
        """The checks' answers, from the run under way or from a new one."""
        if self._run is None or self._run.done():
            self._run = asyncio.ensure_future(readiness(self.service, checks))
        run = self._run
        try:
            return await asyncio.shield(run)  # a caller that goes away leaves it to others
        except asyncio.CancelledError:
            if _cancelling() or not run.cancelled():
                raise
            return dict.fromkeys(checks, False)  # the shared run was cancelled: not ready


async def readiness(service: str, checks: dict[str, ReadinessCheck]) -> dict[str, bool]:
    """Each readiness check's answer, all run at once (so within one check's deadline, not
    their sum); the gauge aduan_ready follows."""
    answers = await asyncio.gather(*(_safe(check) for check in checks.values()))
    results = dict(zip(checks, answers, strict=True))
    for check, ready in results.items():
        READY.labels(service, check).set(int(ready))
    return results


async def _safe(check: ReadinessCheck) -> bool:
    """The check's answer; False if it fails or has none within the deadline (all checks run
    at once, so readiness answers within it too, even while a server is silent)."""
    try:
        return await answered(check(), DEADLINE_SECONDS)
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False
    except asyncio.CancelledError:  # a client library's own (aiormq cancels its pending calls
        if _cancelling():  # when a connection drops): not ready; ours goes on
            raise
        return False


def _cancelling() -> bool:
    """Whether the running task itself is being cancelled."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


# Sent with every page and API answer (the services', the gateway's; deploy/nginx.conf says the
# same): scripts, styles and requests only from the origin, never framed, no referrer sent.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_SECURITY_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


class SecurityHeaders:
    """ASGI middleware: the security headers on every response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, headed)


class HeadAsGet:
    """ASGI middleware: HEAD is answered as GET would be, without the body (RFC 9110 §9.3.2);
    every GET route answered it 405, and monitors and link checkers ask with HEAD.

    Once the answer's head is sent, the app hears that the client went away, so an answer
    that streams (the live stream) ends instead of running on unread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        answered = asyncio.Event()

        async def head_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                answered.set()
            elif message["type"] != "http.response.body":
                await send(message)

        async def gone_once_answered() -> Message:
            if answered.is_set():
                return {"type": "http.disconnect"}
            asked = asyncio.ensure_future(receive())
            heard = asyncio.ensure_future(answered.wait())
            await asyncio.wait({asked, heard}, return_when=asyncio.FIRST_COMPLETED)
            heard.cancel()
            if asked.done():
                return asked.result()
            asked.cancel()
            return {"type": "http.disconnect"}

        await self.app({**scope, "method": "GET"}, gone_once_answered, head_only)


class HttpMetrics:
    """ASGI middleware: request latency by route template and status."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_LATENCY.labels(self.service, scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


@contextlib.asynccontextmanager
async def background(*jobs: Coroutine[Any, Any, None]) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run coroutines as tasks for the life of the block; cancel and await them at its end."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield tasks
    finally:
        await _cancel_all(tasks)


async def _cancel_all(tasks: list[asyncio.Task[None]], grace: float = 2.0) -> None:
    """Cancel the tasks and wait for them; cancel again any that lived on past `grace`.

    On Python 3.11, `asyncio.wait_for` (used inside asyncpg, aiormq and redis) drops a
    cancellation that arrives just as the awaited operation completes; a consumer loop would
    then carry on, and a shutdown would hang. A second cancellation ends it.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            log.warning("background task %s survived cancellation; cancelling again", task)
    await asyncio.gather(*tasks, return_exceptions=True)


def database_check(pool: Pool) -> ReadinessCheck:
    """Readiness: the database answers."""

    async def check() -> bool:
        async with pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT true"))

    return check


def configure_logging(settings: Settings) -> None:
    """Plain timestamped logs on stderr."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(pii.MaskingFilter())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").addFilter(_UpgradeNoise())
    quiet_broker_noise()


class _UpgradeNoise(logging.Filter):
    """Drops uvicorn's two warnings for each request asking for a WebSocket: no door speaks
    it (`ws="none"`), the request is answered as the plain one it also is, and a stranger
    sending them in a loop wrote two log lines a request."""

    REPEATS = ("Unsupported upgrade request", "No supported WebSocket library")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.REPEATS)


IPV6_COUNTED_PREFIX = 64
"""An IPv6 client is counted by its /64: a subscriber's line is given a whole /64 at least
(RFC 6177, and Indonesian carriers' practice), so one counted per address could rotate through
2^64 of them, each with limits of its own."""


def client_address(request: Request) -> str:
    """The address a request came from, as every limit and guard counts it: the peer's, or the
    one a trusted proxy (`serve`'s `forwarded_allow_ips`: the gateway, nginx) forwarded for;
    "unknown" when there is none. See `counted_address`."""
    return counted_address(request.client.host if request.client else None)


def counted_address(host: str | None) -> str:
    """An address as limits count it: IPv4 as it is, IPv6 by its network (`IPV6_COUNTED_PREFIX`)
    but the loopback, an IPv4 written as IPv6 (::ffff:a.b.c.d) as that IPv4, an IPv6 spelt in
    another way (upper case, zeros) as the same; anything else as it is written."""
    if host is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address (a test client's name): counted as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if not address.is_loopback:
            network = ipaddress.IPv6Network((address.packed, IPV6_COUNTED_PREFIX), strict=False)
            return str(network)
    return str(address)


class ProblemHttp(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, answering a request it cannot parse (a broken header line,
    an unknown HTTP version, an address past the parser's limit) as problem+json with the
    security headers, as every other refusal is: uvicorn's own answer is plain text."""

    def send_400_response(self, msg: str) -> None:
        """The 400 problem, then the connection closes (as uvicorn's own)."""
        body = json.dumps(
            {
                "type": "/problems/bad-request",
                "title": TITLES[400],
                "status": 400,
                "detail": "Permintaan HTTP tidak dapat dibaca.",
            }
        ).encode()
        head = [
            b"HTTP/1.1 400 Bad Request",
            b"content-type: " + MEDIA_TYPE.encode(),
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
            *(name + b": " + value for name, value in _SECURITY_HEADERS),
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


KEEP_ALIVE_SECONDS = 20
"""How long a service keeps an idle connection open. A proxy in front lets its own idle ones go
sooner (the gateway after a quarter of it): one that sent a request on a connection the
service was closing at that instant got no answer (502)."""


def serve(app: FastAPI, settings: Settings, service: str) -> None:
    """Run a service's app on its own port."""
    configure_logging(settings)
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=settings.port(service),
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        http=ProblemHttp,
        ws="none",  # an Upgrade: websocket is answered as the plain request it also is
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
