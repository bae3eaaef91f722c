"""The local one-origin gateway: /intake, /workflow, /reporting to each service's own port,
/open311 by method (BY_METHOD), the pages a service renders (RENDERED: an agency's own form
page), and the web pages (web/) at every other path.

docker-compose.yml uses nginx for the same job (deploy/nginx.conf); this one serves `make up`.
Responses stream through, so the live event stream (SSE) works behind it too. Pages are looked
up as nginx's `try_files $uri $uri.html $uri/index.html` does: /lacak is web/lacak.html.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.outages import RETRY_AFTER_SECONDS
from shared.problems import Problem, RequestHead, drain, problem_response, too_large
from shared.service import KEEP_ALIVE_SECONDS, ProblemHttp, SecurityHeaders, configure_logging
from shared.settings import SERVICES, Settings

WEB_ROOT = Path(__file__).resolve().parents[1] / "web"

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
# What the gateway's own server says of every answer: the upstream's copy is not passed on.
OWN_ANSWER_HEADERS = frozenset({"date", "server"})
# At most this many request headers, and bytes of them, and of any one header or the address
# (as nginx's default large_client_header_buffers, 4 of 8k): each is copied and looked up on
# the way through.
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024
MAX_LINE_BYTES = 8 * 1024
# What the gateway itself says about the client; a client's own word is never passed on.
FORWARDED = frozenset({"forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})
# Prefixes no one service owns: the service by method, else the first. Open311
# (shared/open311.py): POST files a request at intake; every read is reporting's.
BY_METHOD: dict[str, tuple[str, dict[str, str]]] = {"open311": ("reporting", {"POST": "intake"})}
# Public pages a service renders (services/intake/agency_pages.py: /instansi/{id}/pengaduan).
RENDERED: dict[str, str] = {"instansi": "intake"}
# Paths under a service prefix that stay on the service's own port.
NOT_FORWARDED = frozenset({"internal", "metrics"})
# A path segment's characters (RFC 3986 pchar without ';'); a query's: those, '/', '?', ';',
# and what browsers leave unencoded there ('[]{}|^`').
SEGMENT = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,=:@%]*")
QUERY = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:@%/?\[\]{}|^`]*")
UNSAFE_DECODED = re.compile(rb"[\x00-\x1f\x7f/\\%]")


class Refused(Exception):
    """A request the gateway cannot forward faithfully: a 400 (or 404) problem, never a 5xx."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.problem = Problem(status, detail, code="bad-request" if status == 400 else "")


class HeaderLimit:
    """ASGI middleware: a request with too many or too large headers is a 431 problem at once,
    before any of them is copied (forwarding 20,000 headers held the event loop for seconds);
    an address longer than nginx takes is a 414."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = _head_too_large(scope) if scope["type"] == "http" else None
        if problem is not None:
            await problem_response(problem, "")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _head_too_large(scope: Scope) -> Problem | None:
    headers = scope["headers"]
    lines = [len(name) + len(value) + 4 for name, value in headers]
    if (
        len(headers) > MAX_HEADERS
        or sum(lines) > MAX_HEADER_BYTES
        or max(lines, default=0) > MAX_LINE_BYTES
    ):
        detail = "Header permintaan terlalu banyak atau terlalu besar."
        return Problem(431, detail, code="headers-too-large")
    if len(scope.get("raw_path") or b"") + len(scope["query_string"]) > MAX_LINE_BYTES:
        return Problem(414, "Alamat permintaan terlalu panjang.", code="address-too-long")
    return None


def canonical_path(raw: bytes) -> str:
    """The raw path when it is clean and canonical: no dot segments, no encoded '/', '\\', '%'
    or control character, no empty segment but a trailing one; Refused otherwise."""
    segments = raw.split(b"/")
    if segments[0] != b"":
        raise Refused("Alamat harus diawali garis miring.")
    for index, segment in enumerate(segments[1:], start=1):
        if not SEGMENT.fullmatch(segment):
            raise Refused("Alamat memuat karakter yang tidak diizinkan.")
        decoded = unquote_to_bytes(segment)
        if decoded in (b".", b"..") or UNSAFE_DECODED.search(decoded):
            raise Refused(
                "Alamat memuat segmen yang tidak diizinkan (titik, garis miring, kontrol)."
            )
        if segment == b"" and index != len(segments) - 1:
            raise Refused("Alamat memuat garis miring ganda.")
    return raw.decode("ascii")


def _forward_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The client's headers as they came (whitespace around values trimmed, as HTTP allows),
    and what the gateway saw as X-Forwarded-*; Refused for a value it cannot pass on."""
    headers, host = [], b""
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.strip(b" \t")
        if any((byte < 0x20 and byte != 0x09) or byte >= 0x7F for byte in value):
            raise Refused(f"Header {name} memuat karakter yang tidak didukung.")
        host = value if name == "host" else host
        if name not in FORWARDED and name not in HOP_BY_HOP:
            headers.append((raw_name, value))
    client = (scope.get("client") or ("", 0))[0].encode()
    proto = str(scope.get("scheme", "http")).encode()
    said = [(b"x-forwarded-for", client), (b"x-forwarded-proto", proto)]
    return [*headers, *said, (b"x-forwarded-host", host)]


def web_file(root: Path, path: str) -> Path | None:
    """The file a page path names, never outside the root: /x, /x.html, /x/index.html."""
    relative = path.strip("/")
    base = root.resolve()
    candidates = [f"{relative}/index.html" if relative else "index.html"]
    if relative:
        candidates = [relative, f"{relative}.html", *candidates]
    for candidate in candidates:
        try:
            found = (base / candidate).resolve()
            if found.is_file() and found.is_relative_to(base):
                return found
        except (ValueError, OSError):  # a NUL byte, a name too long: no file of ours
            return None
    return None


class WholeFile(FileResponse):
    """A page's file, always whole: pages are small, and a Range header, valid or not, is
    ignored as RFC 9110 allows (an unreadable one was a plain-text 400 or 416)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file as if no range had been asked."""
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        await super().__call__({**scope, "headers": headers}, receive, send)


async def page(request: Request) -> Response:
    """A page of web/; a missing one is the 404 page for a browser, problem+json otherwise."""
    found = web_file(WEB_ROOT, request.scope["path"])
    if found is None:
        if "text/html" in request.headers.get("accept", ""):
            return WholeFile(WEB_ROOT / "404.html", status_code=404)
        return problem_response(Problem(404, "Halaman tidak ditemukan."), request.scope["path"])
    return WholeFile(found, headers={"cache-control": "no-cache"})


async def not_allowed(request: Request, exc: Exception) -> Response:
    """A method no door takes (TRACE, PROPFIND, …): a problem, as every other refusal is."""
    allow = ", ".join(METHODS)
    problem = Problem(405, "Metode permintaan tidak diizinkan.", headers={"Allow": allow})
    return problem_response(problem, request.scope["path"])


async def ready(request: Request) -> Response:
    """The gateway is up (each service reports its own readiness)."""
    return Response("ok", media_type="text/plain")


def _outgoing(client: httpx.AsyncClient, request: Request, upstream: str) -> httpx.Request:
    """The request to the upstream, with exactly the path and query bytes that were checked."""
    raw_path, query = request.scope.get("raw_path") or b"", request.scope["query_string"]
    path = canonical_path(raw_path)
    segments = unquote(path).split("/")  # as the service reads it: %69nternal is internal
    if len(segments) > 2 and segments[2] in NOT_FORWARDED:
        raise Refused("Alamat tidak dikenal.", status=404)
    if not QUERY.fullmatch(query):
        raise Refused("Parameter alamat memuat karakter yang tidak diizinkan.")
    target = raw_path + (b"?" + query if query else b"")
    try:
        url = httpx.URL(upstream + target.decode("ascii"))
        # A request without a body goes on without one (it went on as an empty chunked body).
        content = request.stream() if _has_body(request) else None
        outgoing = client.build_request(
            request.method, url, headers=_forward_headers(request.scope), content=content
        )
    except (httpx.InvalidURL, UnicodeError, ValueError) as error:
        raise Refused("Permintaan tidak dapat diteruskan.") from error
    if outgoing.url.raw_path != target:
        raise Refused("Alamat tidak kanonis.")
    return outgoing


def _not_forwarded(service: str, error: httpx.HTTPError, method: str) -> Problem:
    """The answer for a request the service could not be given, or did not answer."""
    if isinstance(error, httpx.LocalProtocolError):
        return Problem(400, "Permintaan tidak dapat diteruskan.", code="bad-request")
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        # Nothing reached the service (restarting, say): safe to send again shortly.
        detail = (
            f"Layanan {service} sedang tidak dapat dihubungi; permintaan ini belum diproses. "
            "Silakan coba lagi beberapa saat lagi."
        )
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return Problem(503, detail, code="service-unavailable", headers=headers)
    # The service had the request and gave no (whole) answer: a safe one changed nothing; any
    # other may have been done (a submission stored), which "cannot be reached" denied. No
    # Retry-After for those: a client sends it again only with the same Idempotency-Key.
    maybe = (
        ""
        if method in SAFE
        else " Permintaan ini mungkin sudah diproses: periksa hasilnya sebelum mengirim ulang, "
        "atau kirim ulang dengan Idempotency-Key yang sama."
    )
    if isinstance(error, httpx.ReadTimeout):  # as nginx answers past its proxy_read_timeout
        detail = "Layanan tidak menjawab tepat waktu." + maybe
        return Problem(504, detail, code="gateway-timeout")
    detail = f"Sambungan ke layanan {service} terputus sebelum jawabannya diterima." + maybe
    return Problem(502, detail, code="bad-gateway")


READ_SECONDS = 60.0
"""The longest wait between two reads of a service's answer (nginx's default)."""

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods whose request is sent again, once, when the service closed the connection without
answering (RFC 9110 §9.2.2: it changes nothing the first time either)."""


async def _sent(
    client: httpx.AsyncClient, request: Request, outgoing: httpx.Request
) -> httpx.Response:
    """The service's answer. A safe request without a body that found the connection closed
    (the service had just let it go, or dropped it after another request's error) or reset
    (its process killed while it had the request) is sent once more, on a new connection: it
    was answered 502 although the service was there, or is restarting (then 503, try again)."""
    try:
        return await client.send(outgoing, stream=True)
    except (httpx.RemoteProtocolError, httpx.ReadError):
        if request.method not in SAFE or _has_body(request):
            raise
        again = client.build_request(request.method, outgoing.url, headers=outgoing.headers)
        return await client.send(again, stream=True)


def _has_body(request: Request) -> bool:
    """Whether the client sends a body (its length, or chunks)."""
    length = request.headers.get("content-length", "0")
    return "transfer-encoding" in request.headers or length not in ("", "0")


async def _declared_too_large(request: Request, most: int) -> Response | None:
    """413 for a body declared larger than any service takes, refused here as a service
    refuses it: what a client sends anyway is drained a while, and one waiting for "100
    Continue" before it sends is answered at once (uvicorn says it at the first read)."""
    declared = request.headers.get("content-length", "")
    if not (declared.isdigit() and int(declared) > most):
        return None
    if request.headers.get("expect", "").lower() != "100-continue":
        await drain(request.receive, most)
    return problem_response(too_large(most), request.scope["path"])


def create_gateway(settings: Settings) -> Starlette:
    """An ASGI app that forwards each service's prefix to that service."""
    upstreams = {service: settings.service_url(service) for service in SERVICES}
    # No cap on connections to the services: httpx's default hundred let a hundred requests
    # held open (bodies trickling in, live streams) make every other visitor wait.
    limits = httpx.Limits(
        max_connections=None,
        max_keepalive_connections=100,
        keepalive_expiry=KEEP_ALIVE_SECONDS / 4,  # before the service lets one go
    )
    # At most a minute between two reads of an answer (nginx's proxy_read_timeout, whose 1 h
    # for reporting's live stream is not needed here: the stream sends a ping every 15 s): a
    # frozen service held its requests for ever.
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=READ_SECONDS), limits=limits)

    async def forward(request: Request) -> Response:
        raw_path: bytes = request.scope.get("raw_path") or b""
        service = raw_path.split(b"/")[1].decode("latin-1") if raw_path[:1] == b"/" else ""
        if service in BY_METHOD:
            first, by_method = BY_METHOD[service]
            service = by_method.get(request.method, first)
        service = RENDERED.get(service, service)
        if service not in upstreams:
            if request.method in ("GET", "HEAD"):
                return await page(request)
            return problem_response(Problem(404, "Alamat tidak dikenal."), request.scope["path"])
        too_big = await _declared_too_large(request, settings.largest_body_bytes)
        if too_big is not None:
            return too_big
        try:
            outgoing = _outgoing(client, request, upstreams[service])
        except Refused as refused:
            return problem_response(refused.problem, request.scope["path"])
        try:
            upstream = await _sent(client, request, outgoing)
        except ClientDisconnect:  # gone before its body was all there: nobody to answer
            return Response(status_code=400)
        except httpx.HTTPError as error:
            return problem_response(
                _not_forwarded(service, error, request.method), request.scope["path"]
            )
        headers = {
            k: v
            for k, v in upstream.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in OWN_ANSWER_HEADERS
        }
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=headers,
            background=BackgroundTask(upstream.aclose),
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    routes = [Route("/readyz", ready), Route("/{path:path}", forward, methods=METHODS)]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(HeaderLimit),
            Middleware(RequestHead, most=settings.largest_body_bytes),
        ],
        exception_handlers={405: not_allowed},
    )


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
"""The methods the gateway forwards; any other is refused here."""


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings)
    uvicorn.run(
        create_gateway(settings),
        host=settings.bind_host,
        port=settings.gateway_port,
        log_level=settings.log_level,
        access_log=False,
        http=ProblemHttp,
        ws="none",  # an Upgrade: websocket is answered as the plain request it also is
    )
