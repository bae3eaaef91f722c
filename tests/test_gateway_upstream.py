"""The gateway and a service's connections: a request is never answered 502 because the service
closed, between two requests, a connection the gateway then reused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from deploy.gateway import create_gateway
from shared.service import KEEP_ALIVE_SECONDS, ProblemHttp, create_service_app
from shared.settings import Settings
from tests.infrastructure import free_port
from tests.polling import eventually

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


@asynccontextmanager
async def closing_service(heard: list[bytes]) -> AsyncIterator[int]:
    """A stand-in service that answers the first request on each connection and then, when a
    second one comes on it, closes without answering (as uvicorn does with a connection whose
    keep-alive time ran out as the request came, or after another request's error)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            heard.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(ANSWER)
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")  # the next request: dropped
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_a_safe_request_on_a_connection_the_service_closed_is_sent_again(
    method: str,
) -> None:
    heard: list[bytes] = []
    async with closing_service(heard) as port:
        gateway = create_gateway(Settings(reporting_url=f"http://127.0.0.1:{port}"))
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://aduan.test") as http:
            answers = [
                (await http.request(method, "/reporting/v1/vocabulary")).status_code
                for _ in range(3)
            ]
    assert answers == [200, 200, 200]
    assert len(heard) == 3  # each on a connection of its own, the reused ones refused
    assert all(b"transfer-encoding" not in request.lower() for request in heard), heard


async def test_a_request_with_a_body_is_not_sent_twice() -> None:
    """A POST may have been acted on before the connection closed: it is answered 502, never
    sent again (a complaint filed twice)."""
    heard: list[bytes] = []
    async with closing_service(heard) as port:
        gateway = create_gateway(Settings(intake_url=f"http://127.0.0.1:{port}"))
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://aduan.test") as http:
            first = await http.post("/intake/v1/complaints", json={"text": "satu"})
            second = await http.post("/intake/v1/complaints", json={"text": "dua"})
    assert (first.status_code, second.status_code) == (200, 502)
    assert len(heard) == 1


@asynccontextmanager
async def failing_service(settings: Settings) -> AsyncIterator[str]:
    """A service app (shared.service) with a route that fails unexpectedly, on uvicorn."""

    @asynccontextmanager
    async def nothing(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = create_service_app(service="reporting", settings=settings, lifespan=nothing)

    @app.get("/reporting/v1/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/reporting/v1/fine")
    async def fine() -> dict[str, str]:
        return {}

    port = free_port()
    config = uvicorn.Config(
        app,
        port=port,
        http=ProblemHttp,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        log_level="critical",
    )
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _true(server.started), within=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await running


async def _true(value: bool) -> bool:
    return value


async def test_another_requests_error_never_makes_a_502() -> None:
    """A service's 500 closes its connection (uvicorn does after an error the app raised): it
    says so, and the gateway's next request does not go out on that connection."""
    settings = Settings()
    async with failing_service(settings) as url:
        async with httpx.AsyncClient(base_url=url) as direct:
            failed = await direct.get("/reporting/v1/boom")
        assert failed.status_code == 500
        assert failed.headers["connection"] == "close"
        assert failed.headers["content-type"] == "application/problem+json"
        gateway = create_gateway(settings.model_copy(update={"reporting_url": url}))
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://aduan.test") as http:
            statuses = []
            for _ in range(20):
                statuses.append((await http.get("/reporting/v1/boom")).status_code)
                statuses.append((await http.get("/reporting/v1/fine")).status_code)
    assert statuses == [500, 200] * 20
