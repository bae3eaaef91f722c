"""Waiting on a condition with a deadline: the only way tests wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    within: float = 10.0,
    interval: float = 0.05,
) -> T:
    """Call `probe` until it returns something truthy; fail with its last answer at the deadline."""
    deadline = time.monotonic() + within
    last: T | None = None
    while True:
        try:
            last = await probe()
        except (OSError, httpx.TransportError) as error:  # a server still starting up
            last = None
            reason: object = error
        else:
            reason = last
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s; last: {reason!r}")
        await asyncio.sleep(interval)
