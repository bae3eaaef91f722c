"""A TCP proxy the test controls: open it to pass traffic, cut it to make an outage, freeze it
to make a server that answers nothing (no bytes, no resets: a hung machine or a dead link)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

from tests.infrastructure import free_port


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` drops and refuses connections."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.is_open = True
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Make the target unreachable: existing connections drop, new ones are refused (a
        freeze ends: what it held is dropped with the connections)."""
        self.is_open = False
        for writer in list(self._pipes):
            writer.close()
        self._pipes.clear()
        self._flowing.set()

    def restore(self) -> None:
        """Let traffic through again."""
        self.is_open = True

    def freeze(self) -> None:
        """Stop passing bytes either way, keeping every connection open and accepting new ones."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Pass bytes again, what was held first."""
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_open:
            writer.close()
            return
        self._pipes.add(writer)  # a cut while connecting below drops this one too
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._pipes.discard(writer)
            writer.close()
            return
        if not self.is_open or writer not in self._pipes:  # cut while it was connecting
            self._pipes.discard(writer)
            for end in (writer, up_writer):
                end.close()
            return
        self._pipes.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
            await self._flowing.wait()  # a frozen link passes no close either
        finally:
            self._pipes.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.asynccontextmanager
async def proxied(host: str, port: int) -> AsyncIterator[TcpProxy]:
    """A started proxy to host:port, stopped (every connection dropped) at the end."""
    proxy = TcpProxy(host, port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def amqp_through(proxy: TcpProxy, url: str) -> str:
    """An AMQP URL whose connections go through the proxy (same vhost, guest credentials)."""
    return urlunsplit(urlsplit(url)._replace(netloc=f"guest:guest@127.0.0.1:{proxy.port}"))
