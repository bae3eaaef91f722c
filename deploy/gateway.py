"""The local one-origin gateway: /intake, /workflow, /reporting to each service's own port,
and the web pages (web/) at every other path.

docker-compose.yml uses nginx for the same job (deploy/nginx.conf); this one serves `make up`.
Responses stream through, so the live event stream (SSE) works behind it too. Pages are looked
up as nginx's `try_files $uri $uri.html $uri/index.html` does: /lacak is web/lacak.html.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from shared.problems import Problem, problem_response
from shared.service import configure_logging
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
        "content-length",
    }
)


def _forward_headers(request: Request) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
    client = request.client.host if request.client else ""
    headers += [
        ("x-forwarded-for", client),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-host", request.headers.get("host", "")),
    ]
    return headers


def web_file(root: Path, path: str) -> Path | None:
    """The file a page path names, never outside the root: /x, /x.html, /x/index.html."""
    relative = path.strip("/")
    base = root.resolve()
    candidates = [f"{relative}/index.html" if relative else "index.html"]
    if relative:
        candidates = [relative, f"{relative}.html", *candidates]
    for candidate in candidates:
        found = (base / candidate).resolve()
        if found.is_file() and found.is_relative_to(base):
            return found
    return None


async def page(request: Request) -> Response:
    """A page of web/; a missing one is the 404 page for a browser, problem+json otherwise."""
    found = web_file(WEB_ROOT, request.url.path)
    if found is None:
        if "text/html" in request.headers.get("accept", ""):
            return FileResponse(WEB_ROOT / "404.html", status_code=404)
        return problem_response(Problem(404, "Halaman tidak ditemukan."), request.url.path)
    return FileResponse(found, headers={"cache-control": "no-cache"})


async def ready(request: Request) -> Response:
    """The gateway is up (each service reports its own readiness)."""
    return Response("ok", media_type="text/plain")


def create_gateway(settings: Settings) -> Starlette:
    """An ASGI app that forwards each service's prefix to that service."""
    upstreams = {service: settings.service_url(service) for service in SERVICES}
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None))

    async def forward(request: Request) -> Response:
        service = request.url.path.split("/", 2)[1]
        if service not in upstreams:
            if request.method in ("GET", "HEAD"):
                return await page(request)
            return problem_response(Problem(404, "Alamat tidak dikenal."), request.url.path)
        url = upstreams[service] + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        outgoing = client.build_request(
            request.method, url, headers=_forward_headers(request), content=request.stream()
        )
        try:
            upstream = await client.send(outgoing, stream=True)
        except httpx.TransportError:
            detail = f"Layanan {service} tidak dapat dihubungi."
            return problem_response(Problem(502, detail, code="bad-gateway"), request.url.path)
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
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

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    routes = [Route("/readyz", ready), Route("/{path:path}", forward, methods=methods)]
    return Starlette(routes=routes, lifespan=lifespan)


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings)
    uvicorn.run(
        create_gateway(settings),
        host=settings.bind_host,
        port=settings.gateway_port,
        log_level=settings.log_level,
        access_log=False,
    )
