"""Proxies in front of the machine's broker and store: a test cuts or freezes its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.tcp_proxy import TcpProxy, proxied


@pytest.fixture
async def broker_proxy() -> AsyncIterator[TcpProxy]:
    async with proxied("127.0.0.1", 5672) as proxy:
        yield proxy


@pytest.fixture
async def store_proxy() -> AsyncIterator[TcpProxy]:
    async with proxied("127.0.0.1", 5432) as proxy:
        yield proxy
