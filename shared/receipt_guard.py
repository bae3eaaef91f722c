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
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally

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

    async def check(self, code: str, presented: str | None, address: str) -> None:
        """Return when the secret opens the code; else WrongSecret (403) or TooManyGuesses.
        No secret at all is no guess: refused, not counted against the code."""
        if not presented:
            REFUSALS.labels(self.service, "missing").inc()
            raise WrongSecret()
        window, retry_after = self._window()
        names = self._names(code, address, window)
        counts = await self._read(names)
        if counts[0] >= PER_ADDRESS:
            REFUSALS.labels(self.service, "limited").inc()
            raise TooManyGuesses(retry_after)
        if opens(self.key, code, presented):
            return  # the owner is never locked out by strangers' guesses at their code
        if counts[1] >= PER_CODE:
            REFUSALS.labels(self.service, "limited").inc()
            raise TooManyGuesses(retry_after)
        await self._count(names)
        REFUSALS.labels(self.service, "wrong").inc()
        raise WrongSecret()

    async def may_look_up(self, address: str) -> None:
        """Return when this address may look a code up without its secret; else TooManyMisses
        (it asked for too many codes that are not found)."""
        window, retry_after = self._window()
        name = self._misses(address, window)
        [misses] = await self._read((name,))
        if misses >= PER_ADDRESS_MISSES:
            REFUSALS.labels(self.service, "lookups-limited").inc()
            raise TooManyMisses(retry_after)

    async def missed(self, address: str, codes: int = 1) -> None:
        """Count codes this address looked up that were not found (or not the public's)."""
        if codes > 0:
            await self._count((self._misses(address, self._window()[0]),), codes)

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

    async def _read(self, names: tuple[str, ...]) -> tuple[int, ...]:
        try:
            values = await asyncio.wait_for(self.redis.mget(names), REDIS_SECONDS)
        except (TimeoutError, redis_errors.RedisError, OSError):
            return tuple(self._local[name] for name in names)
        shared = (int(v) if v is not None else 0 for v in values)
        return tuple(
            max(count, self._local[name]) for count, name in zip(shared, names, strict=True)
        )

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
        window = self._window()[0]
        if window != self._local_window or len(self._local) >= LOCAL_KEYS:
            self._local.clear()
            self._local_window = window
        for name in names:
            self._local[name] += by
