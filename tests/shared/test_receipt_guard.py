"""The receipt-secret guard against the real Redis: wrong secrets are counted per address and
per code and stopped at the limit; a missing secret is refused but is no guess."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from shared.problems import Problem
from shared.receipt_guard import PER_ADDRESS, PER_ADDRESS_MISSES, PER_CODE, REFUSALS, ReceiptGuard
from shared.receipts import receipt_key, secret_for
from shared.settings import Settings
from shared.tracking_code import new_code

CREDENTIAL = "credential-of-the-test"


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


async def test_lookups_of_unknown_codes_stop_only_their_address(guard: ReceiptGuard) -> None:
    await guard.missed("10.0.7.1", PER_ADDRESS_MISSES - 1)
    await guard.may_look_up("10.0.7.1")
    await guard.missed("10.0.7.1")
    with pytest.raises(Problem) as caught:
        await guard.may_look_up("10.0.7.1")
    assert caught.value.status == 429
    await guard.may_look_up("10.0.7.2")  # another address looks up as before
