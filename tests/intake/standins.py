"""Local stand-ins for what cannot run here: Meta's Graph API, SP4N-LAPOR!, an SMTP server,
an IMAP server. Each listens on 127.0.0.1 on a free port and records what it was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from imapclient import IMAPClient

from tests.infrastructure import free_port


@dataclass
class HttpStandIn:
    """Records every JSON request; answers `failures` first requests with 503, and none while
    `hold` is given and not set."""

    failures: int = 0
    requests: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    refused: int = 0
    port: int = 0
    hold: asyncio.Event | None = None  # while unset, a request is recorded but not answered

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def _any(self, request: web.Request) -> web.Response:
        if self.failures > 0:
            self.failures -= 1
            self.refused += 1
            return web.json_response({"error": {"message": "temporarily unavailable"}}, status=503)
        body = await request.json()
        self.requests.append((request.path, body, dict(request.headers)))
        if self.hold is not None:
            await self.hold.wait()
        return web.json_response({"ok": True, "messages": [{"id": "wamid.out"}]})

    def sent_to(self, path_part: str) -> list[dict[str, Any]]:
        """Bodies posted to paths containing `path_part`."""
        return [body for path, body, _ in self.requests if path_part in path]


@contextlib.asynccontextmanager
async def http_standin(failures: int = 0) -> AsyncIterator[HttpStandIn]:
    """The Graph API / LAPOR! stand-in, served until the block ends."""
    standin = HttpStandIn(failures=failures)
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", standin._any)
    runner = web.AppRunner(app)
    await runner.setup()
    standin.port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", standin.port)
    await site.start()
    try:
        yield standin
    finally:
        await runner.cleanup()


class _Sink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.refusals = 0  # the next mails refused with a 550, as a server rejecting them
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            self.refused += 1
            return "550 5.7.1 Message refused"
        self.raw.append(envelope.original_content)
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@dataclass
class SmtpSink:
    """A real SMTP server that keeps what it receives."""

    port: int
    handler: _Sink

    @property
    def messages(self) -> list[EmailMessage]:
        """Mail received so far."""
        return self.handler.messages

    def refuse(self, count: int) -> None:
        """Refuse the next `count` mails (550)."""
        self.handler.refusals = count


@contextlib.contextmanager
def smtp_sink() -> Any:
    """aiosmtpd on a free port, for the block."""
    handler = _Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink(port, handler)
    finally:
        controller.stop()


@dataclass
class ImapServer:
    """pymap (in-memory) on a free port, with one user."""

    port: int
    user: str = "pengaduan"
    password: str = "rahasia-kotak"

    def client(self) -> IMAPClient:
        """A logged-in client with INBOX selected."""
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        client.select_folder("INBOX")
        return client

    def deliver(self, raw: bytes, at: datetime | None = None) -> None:
        """Put a message in the INBOX, unseen, as an MTA would (arrived `at`, else now)."""
        client = self.client()
        try:
            client.append("INBOX", raw, msg_time=at)
        finally:
            client.logout()

    def flags(self) -> dict[int, tuple[bytes, ...]]:
        """Every message's flags."""
        client = self.client()
        try:
            fetched = client.fetch(client.search(["ALL"]), ["FLAGS"])
            return {uid: data[b"FLAGS"] for uid, data in fetched.items()}
        finally:
            client.logout()

    def empty(self) -> None:
        """Delete the demo messages pymap starts with."""
        client = self.client()
        try:
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()
        finally:
            client.logout()


@contextlib.asynccontextmanager
async def imap_server() -> AsyncIterator[ImapServer]:
    """A pymap process for the block; its INBOX starts empty."""
    pymap = shutil.which("pymap", path=str(Path(sys.executable).parent))
    assert pymap, "pymap is not installed (make install)"
    server = ImapServer(free_port())
    process = await asyncio.create_subprocess_exec(
        pymap,
        "--host", "127.0.0.1", "--port", str(server.port), "--no-service", "admin",
        "dict", "--demo-data", "--demo-user", server.user, "--demo-password", server.password,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _wait_for_port(server.port, process)
        await asyncio.to_thread(server.empty)
        yield server
    finally:
        process.terminate()
        await process.wait()


async def _wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if process.returncode is not None:
            raise AssertionError("pymap exited")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError("pymap did not listen")
