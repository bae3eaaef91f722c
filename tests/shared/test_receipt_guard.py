"""The receipt-secret guard against the real Redis: wrong secrets are counted per address and
per code and stopped at the limit; a missing secret is refused but is no guess."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import TypeVar

import pytest
import redis.asyncio as aioredis

from shared.problems import Problem
from shared.receipt_guard import PER_ADDRESS, PER_ADDRESS_MISSES, PER_CODE, REFUSALS, ReceiptGuard
from shared.receipts import receipt_key, secret_for
from shared.settings import Settings
from shared.tracking_code import new_code

CREDENTIAL = "credential-of-the-test"
T = TypeVar("T")


@pytest.fixture
async def guard(settings: Settings) -> AsyncIterator[ReceiptGuard]:
    redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        yield ReceiptGuard(settings, redis, CREDENTIAL, "test")
    finally:
        await redis.aclose()


async def refused(guard: ReceiptGuard, code: str, secret: str | None, address: str) -> int:
    with pytest.raises(Problem) as caught:
        await guard.check(code, secret, address)
    return caught.value.status


async def test_the_right_secret_opens_and_a_wrong_one_is_403(guard: ReceiptGuard) -> None:
    code = new_code()
    await guard.check(code, secret_for(receipt_key(CREDENTIAL), code), "10.0.0.1")
    assert await refused(guard, code, "AAAA-AAAA-AAAA", "10.0.0.1") == 403


async def test_one_code_is_stopped_after_its_limit_of_wrong_secrets_from_anywhere(
    guard: ReceiptGuard,
) -> None:
    code = new_code()
    for attempt in range(PER_CODE):
        assert await refused(guard, code, "AAAA-AAAA-AAAA", f"10.0.1.{attempt}") == 403
    assert await refused(guard, code, "BBBB-BBBB-BBBB", "10.0.2.1") == 429  # the rest of the window


async def test_the_right_secret_still_opens_a_code_strangers_have_guessed_at(
    guard: ReceiptGuard,
) -> None:
    code = new_code()
    for attempt in range(PER_CODE + 2):
        assert await refused(guard, code, "AAAA-AAAA-AAAA", f"10.0.5.{attempt}") in (403, 429)
    await guard.check(code, secret_for(receipt_key(CREDENTIAL), code), "10.0.6.1")  # the owner
    assert await refused(guard, code, "BBBB-BBBB-BBBB", "10.0.6.2") == 429


async def test_one_address_is_stopped_after_its_limit_across_codes(guard: ReceiptGuard) -> None:
    for _ in range(PER_ADDRESS):
        assert await refused(guard, new_code(), "AAAA-AAAA-AAAA", "10.0.3.1") == 403
    code = new_code()
    assert await refused(guard, code, secret_for(receipt_key(CREDENTIAL), code), "10.0.3.1") == 429
    await guard.check(code, secret_for(receipt_key(CREDENTIAL), code), "10.0.3.2")  # others not


async def test_no_secret_is_refused_but_not_counted(guard: ReceiptGuard) -> None:
    code = new_code()
    before = REFUSALS.labels("test", "missing")._value.get()
    for _ in range(PER_CODE + 1):
        assert await refused(guard, code, None, "10.0.4.1") == 403
    assert REFUSALS.labels("test", "missing")._value.get() == before + PER_CODE + 1
    await guard.check(code, secret_for(receipt_key(CREDENTIAL), code), "10.0.4.1")


async def look_up(guard: ReceiptGuard, address: str, misses: int) -> None:
    async with guard.looking_up(address) as lookup:
        lookup.missed(misses)


async def test_lookups_of_unknown_codes_stop_only_their_address(guard: ReceiptGuard) -> None:
    await look_up(guard, "10.0.7.1", PER_ADDRESS_MISSES - 1)
    for _ in range(3):
        await look_up(guard, "10.0.7.1", 0)  # codes found: no misses
    await look_up(guard, "10.0.7.1", 1)
    with pytest.raises(Problem) as caught:
        await look_up(guard, "10.0.7.1", 0)
    assert caught.value.status == 429
    await look_up(guard, "10.0.7.2", 1)  # another address looks up as before


async def together(calls: Iterable[Awaitable[T]], at_once: int = 25) -> list[T]:
    """The calls, `at_once` of them under way at a time (many more at once open so many
    connections to Redis that some wait past the guard's deadline: counted here instead)."""
    gate = asyncio.Semaphore(at_once)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return list(await asyncio.gather(*(one(call) for call in calls)))


async def test_wrong_secrets_sent_together_are_stopped_at_the_limit(guard: ReceiptGuard) -> None:
    """Many at once from one address: each guess is counted before its secret is compared.
    Counted after, every one of them read the counts first: 250 guesses were all compared."""
    code = new_code()
    answers = await together(
        refused(guard, code, f"AAAA-AAAA-{n:04d}", "10.0.8.1") for n in range(60)
    )
    assert answers.count(403) == PER_CODE
    assert answers.count(429) == 60 - PER_CODE
    others = await together(
        refused(guard, new_code(), f"BBBB-BBBB-{n:04d}", "10.0.8.2") for n in range(60)
    )
    assert others.count(403) == PER_ADDRESS
    assert others.count(429) == 60 - PER_ADDRESS
    # The owner still opens a code strangers guessed at, and a right secret counts no guess:
    # what was counted for it before the comparison is given back.
    guessed = new_code()
    for n in range(PER_CODE - 1):
        assert await refused(guard, guessed, "CCCC-CCCC-CCCC", f"10.0.9.{n}") == 403
    owner = secret_for(receipt_key(CREDENTIAL), guessed)
    await together(guard.check(guessed, owner, f"10.0.10.{n}") for n in range(30))
    assert await refused(guard, guessed, "DDDD-DDDD-DDDD", "10.0.11.1") == 403  # the last one
    assert await refused(guard, guessed, "EEEE-EEEE-EEEE", "10.0.11.2") == 429


async def test_lookups_sent_together_are_stopped_at_the_limit(guard: ReceiptGuard) -> None:
    async def missing() -> int:
        try:
            await look_up(guard, "10.0.12.1", 1)
        except Problem as stopped:
            return stopped.status
        return 200

    answers = await together(missing() for _ in range(PER_ADDRESS_MISSES + 50))
    assert answers.count(200) == PER_ADDRESS_MISSES
    assert answers.count(429) == 50


async def test_with_redis_away_guesses_are_counted_here_at_the_same_limits(
    settings: Settings,
) -> None:
    unreachable = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.05)
    guard = ReceiptGuard(settings, unreachable, CREDENTIAL, "test")
    try:
        code = new_code()
        answers = await asyncio.gather(
            *(refused(guard, code, f"AAAA-AAAA-{n:04d}", "10.0.11.1") for n in range(30))
        )
        assert answers.count(403) == PER_CODE
        await guard.check(code, secret_for(receipt_key(CREDENTIAL), code), "10.0.11.2")
    finally:
        await unreachable.aclose()
