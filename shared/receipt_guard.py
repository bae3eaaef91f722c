"""The door of the complainant's own view: the receipt secret checked, and guessing it stopped;
and the public lookup of a code without its secret, walking codes stopped.

Every service that opens something with a tracking code and its receipt secret (reporting's own
view, intake's replies, "Sudah selesai?" and the survey) asks this guard. A wrong secret counts
against the client's address and against the code (a window of `WINDOW_SECONDS`). An address
holding `PER_ADDRESS` failures is answered 429 for the rest of the window, right or wrong, so a
60-bit secret cannot be walked from one address. A code holding `PER_CODE` failures answers 429
to every further wrong secret (from anywhere), but the right secret still opens it: whoever knows
a code must not be able to lock its owner out of their own case by guessing badly. Every
refusal is counted in `aduan_receipt_secret_refusals_total`. Counts live in Redis (shared by the
processes); when it does not answer within `REDIS_SECONDS` they are counted in this process
(bounded memory).

A guess is counted before its secret is compared, in one step with the check of the limits (a
script in Redis), and given back when the secret is right: requests sent together cannot all
read the counts before any of them adds to it (250 guesses sent at once were all compared). A
lookup without a secret likewise counts as a miss before it is made, and is given back when the
code is found.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter as Tally
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis import exceptions as redis_errors

from shared.problems import Problem
from shared.receipts import opens, receipt_key
from shared.settings import Settings

WINDOW_SECONDS = 15 * 60
REDIS_SECONDS = 0.3
PER_ADDRESS = 20
"""Wrong secrets from one address within the window before it is stopped."""
PER_CODE = 10
"""Wrong secrets for one code within the window (from anywhere) before it is stopped."""
PER_ADDRESS_MISSES = 100
"""Tracking codes looked up without a secret and not found, from one address within the window,
before its lookups are stopped: codes cannot be walked to find the cases behind them (a
citizen who mistypes theirs a few times is far from it)."""
LOCAL_KEYS = 100_000

GUESS = """
local address = tonumber(redis.call('GET', KEYS[1]) or '0')
if address >= tonumber(ARGV[1]) then return -1 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local code = tonumber(redis.call('GET', KEYS[2]) or '0')
if code >= tonumber(ARGV[2]) then return 0 end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
"""A guess counted against the address and the code, each below its limit: -1 the address is
at its limit (nothing counted), 0 counted against the address only (the code is at its limit),
1 counted against both."""

MISS = """
local misses = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if misses > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""
"""A lookup counted as a miss ahead, below the limit: 1, or 0 at the limit (nothing counted)."""

REFUSALS = Counter(
    "aduan_receipt_secret_refusals_total",
    "Receipt secrets refused: missing or wrong (403), or over the guessing limit (429)",
    ["service", "outcome"],
)


class WrongSecret(Problem):
    """The secret does not open this code (or none was given)."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "Kunci tanda terima tidak cocok dengan nomor tiket ini. Periksa kembali kunci pada "
            "tanda terima Anda.",
            code="wrong-receipt-secret",
        )


class TooManyGuesses(Problem):
    """Too many wrong secrets for this code or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            f"Terlalu banyak kunci yang salah; coba lagi dalam {retry_after // 60 + 1} menit.",
            code="receipt-secret-limited",
            headers={"Retry-After": str(retry_after)},
        )


class TooManyMisses(Problem):
    """Too many unknown tracking codes looked up from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Terlalu banyak nomor tiket yang tidak ditemukan dari alamat ini; coba lagi dalam "
            f"{retry_after // 60 + 1} menit.",
            code="tracking-lookups-limited",
            headers={"Retry-After": str(retry_after)},
        )


class ReceiptGuard:
    """Checks receipt secrets under the deployment's key, and counts the wrong ones."""

    def __init__(
        self, settings: Settings, redis: aioredis.Redis, credential: str, service: str
    ) -> None:
        self.settings, self.redis, self.service = settings, redis, service
        self.key = receipt_key(credential)
        self._local: Tally[str] = Tally()
        self._local_window = 0
        self._guess = redis.register_script(GUESS)
        self._miss = redis.register_script(MISS)

    async def check(self, code: str, presented: str | None, address: str) -> None:
        """Return when the secret opens the code; else WrongSecret (403) or TooManyGuesses.
        No secret at all is no guess: refused, not counted against the code."""
        if not presented:
            REFUSALS.labels(self.service, "missing").inc()
            raise WrongSecret()
        window, retry_after = self._window()
        names = self._names(code, address, window)
        counted = await self._count_guess(names)
        if counted < 0:
            REFUSALS.labels(self.service, "limited").inc()
            raise TooManyGuesses(retry_after)
        if opens(self.key, code, presented):
            # the owner is never locked out by strangers' guesses at their code
            await self._count(names[: 1 + counted], -1)  # no guess: given back
            return
        if not counted:
            REFUSALS.labels(self.service, "limited").inc()
            raise TooManyGuesses(retry_after)
        REFUSALS.labels(self.service, "wrong").inc()
        raise WrongSecret()

    @contextlib.asynccontextmanager
    async def looking_up(self, address: str) -> AsyncIterator[Lookup]:
        """A lookup of codes without their secret by this address, counted as one miss ahead
        (TooManyMisses at once when it asked for too many codes that are not found); the
        block says how many codes it missed (`Lookup.missed`), and the count is settled to
        that when it ends."""
        window, retry_after = self._window()
        name = self._misses(address, window)
        if not await self._count_miss(name):
            REFUSALS.labels(self.service, "lookups-limited").inc()
            raise TooManyMisses(retry_after)
        lookup = Lookup()
        try:
            yield lookup
        finally:
            if lookup.misses != 1:
                await self._count((name,), lookup.misses - 1)

    def _misses(self, address: str, window: int) -> str:
        return self.settings.redis_key("tracking-miss", "address", address, str(window))

    def _window(self) -> tuple[int, int]:
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        return window, max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)

    def _names(self, code: str, address: str, window: int) -> tuple[str, str]:
        return (
            self.settings.redis_key("receipt-guess", "address", address, str(window)),
            self.settings.redis_key("receipt-guess", "code", code, str(window)),
        )

    async def _count_guess(self, names: tuple[str, str]) -> int:
        """Count a guess, in Redis or else here: GUESS's answer."""
        self._start_window()
        if self._local[names[0]] >= PER_ADDRESS:  # counted here while Redis was away
            return -1
        try:
            answer = self._guess(keys=names, args=[PER_ADDRESS, PER_CODE, WINDOW_SECONDS + 1])
            return int(await asyncio.wait_for(answer, REDIS_SECONDS))
        except (TimeoutError, redis_errors.RedisError, OSError):
            self._start_window()
            if self._local[names[0]] >= PER_ADDRESS:
                return -1
            self._local[names[0]] += 1
            if self._local[names[1]] >= PER_CODE:
                return 0
            self._local[names[1]] += 1
            return 1

    async def _count_miss(self, name: str) -> bool:
        """Count a miss ahead, in Redis or else here; False at the limit (nothing counted)."""
        self._start_window()
        if self._local[name] >= PER_ADDRESS_MISSES:  # counted here while Redis was away
            return False
        try:
            answer = self._miss(keys=[name], args=[PER_ADDRESS_MISSES, WINDOW_SECONDS + 1])
            return bool(await asyncio.wait_for(answer, REDIS_SECONDS))
        except (TimeoutError, redis_errors.RedisError, OSError):
            self._start_window()
            if self._local[name] >= PER_ADDRESS_MISSES:
                return False
            self._local[name] += 1
            return True

    async def _count(self, names: tuple[str, ...], by: int = 1) -> None:
        try:
            await asyncio.wait_for(self._incr(names, by), REDIS_SECONDS)
        except (TimeoutError, redis_errors.RedisError, OSError):
            self._count_here(names, by)

    async def _incr(self, names: tuple[str, ...], by: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for name in names:
                pipe.incrby(name, by)
                pipe.expire(name, WINDOW_SECONDS + 1)
            await pipe.execute()

    def _count_here(self, names: tuple[str, ...], by: int) -> None:
        self._start_window()
        for name in names:
            self._local[name] = max(0, self._local[name] + by)

    def _start_window(self) -> None:
        """The counts kept here start again with each window (and past `LOCAL_KEYS`)."""
        window = self._window()[0]
        if window != self._local_window or len(self._local) >= LOCAL_KEYS:
            self._local.clear()
            self._local_window = window


class Lookup:
    """What a lookup without the secret found: how many of its codes are unknown."""

    def __init__(self) -> None:
        self.misses = 0

    def missed(self, codes: int = 1) -> None:
        """Codes looked up that are not found (or not the public's)."""
        self.misses += codes
