"""The last good copy of public reads, served (and marked) while the database is away.

The rekap, the multi-year table and public tracking keep answering during an outage of
reporting's database: each answer read from the database is kept, and when the next read of
the same thing finds the database away (Unavailable), the kept copy is served with
`STALE_HEADER`. A copy is the very answer the public got when it was read (the access policy
already applied), so it never shows more than the policy showed then.

Where copies live:
- the rekap and the multi-year table (aggregates, no case in them) in this process and in
  Redis under the deployment's key prefix, so a reporting restarted since they were read, or
  another replica, has them too (one started while the database is away waits for it); a
  Redis that is away only means the process's own copies are used;
- tracking copies (`ERASABLE`: public tracking, Open311's requests) only in this process: Redis
  holds nothing of a case (stream_erasure.py).

An erased answer never comes back from a copy (`erasing`). The process that applies an erasure
drops its own tracking copies and keeps none read until its commit is answered; before the
commit it tells Redis, for every process of the deployment, the moment (`SKEW_SECONDS` ahead)
before which no tracking copy read may be served. Every process learns that moment once a
second, and again before it serves a tracking copy; while Redis is away it goes by the last one
it learned: no erasure commits without Redis (it waits to be told first, and the live stream
after it), so only one committed in the last second before Redis went away can be missed.
With a read replica no tracking copy is kept at all: a lagging replica answers with the case as
it was before its erasure (and the replica serves while the primary is away).
A code never read before the outage has no copy: 503, as for every other read.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from pydantic import BaseModel

from shared.outages import DEADLINE_SECONDS, OUTAGES, Busy, Unavailable, within
from shared.redis_client import redis_client
from shared.settings import Settings

STALE_HEADER = "X-Aduan-Stale"
"""On a public read answered from the last good copy: when (RFC 3339) that copy was read from
the database. Our own header rather than `Warning` (obsoleted by RFC 9111) or `Age` alone (a
cache in front adds `Age` to fresh answers too): it says exactly "the database is away, this is
as of then", and the page shows that time."""

M = TypeVar("M", bound=BaseModel)
SHARED_HOURS = 24  # a copy in Redis expires after this long unread from the database
IN_PROCESS = 10_000  # copies kept in this process, the oldest kept dropped first …
IN_PROCESS_CHARS = 32 * 1024 * 1024  # … and no more than this much of them
LARGEST = 256 * 1024  # a larger answer (a rekap grouped by every dimension) is not kept
SHARED_COPIES = 2_000  # copies in Redis, the oldest written dropped first (a stranger's
# made-up queries, each a copy, cannot fill Redis) …
SHARED_LARGEST = 64 * 1024  # … each no larger than this (a larger one stays in the process)
SHARE = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
end
"""
"""Write a copy (ARGV 1, expiring in ARGV 2 seconds) and note it in the index of copies by
when it was read (ARGV 3, in microseconds); forget the entries of copies expired by themselves
(read before ARGV 4); past `SHARED_COPIES` (ARGV 5), drop the oldest."""
ERASABLE = "track"
"""The kind of copies that hold a case: forgotten in every process on an erasure (`erasing`)."""
SKEW_SECONDS = 5.0
"""How far the clocks of the deployment's reporting processes may be apart: a tracking copy read
this long after an erasure's mark is still not served."""
MARK = """
local was = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > was then redis.call('SET', KEYS[1], ARGV[1]) end
"""
"""Move the erasures' mark (seconds since the epoch) forward to ARGV 1, never back."""
POLL_SECONDS = 1.0  # how often each process learns the erasures' mark
REDIS_SECONDS = 0.3  # looking up a copy in Redis, after the database failed
FRESH_SECONDS = DEADLINE_SECONDS - REDIS_SECONDS
"""The database's deadline for a read that has a copy to fall back on: both fit the 2 s."""


@dataclass(frozen=True)
class Copy(Generic[M]):
    """An answer and when it was read from the database; `stale` when served from a copy."""

    value: M
    at: datetime
    stale: bool = False

    def headers(self) -> dict[str, str]:
        """The response headers that mark a copy."""
        return {STALE_HEADER: self.at.isoformat(timespec="seconds")} if self.stale else {}


class LastGood:
    """Copies of public reads: in this process, and in Redis for the shared kinds."""

    def __init__(self, settings: Settings) -> None:
        self.redis = redis_client(settings, 1, 1)
        self._key = settings.redis_key
        self._kept: OrderedDict[tuple[str, str], tuple[datetime, str, float]] = OrderedDict()
        self._chars = 0  # of the bodies kept in this process
        self._forgotten: dict[str, int] = {}  # how many times each kind was forgotten
        self._erasing = 0  # erasures under way in this process
        self._keeps_erasable = not settings.postgres_replica_host
        self._writes: set[asyncio.Task[None]] = set()
        self._share_script = self.redis.register_script(SHARE)
        self._mark_script = self.redis.register_script(MARK)
        self._mark = self._key("last-good", "erased-before")
        self._known_mark = 0.0  # the erasures' mark as last learned
        self._polling: asyncio.Task[None] | None = None

    async def read(
        self,
        kind: str,
        key: str,
        model: type[M],
        fresh: Callable[[], Awaitable[M]],
        *,
        shared: bool = True,
    ) -> Copy[M]:
        """`fresh()`, kept; or, when the database is away or the read could not be served in
        time (Busy), the last kept copy (marked). A read under way while its kind was forgotten
        is served but not kept: it may have read what was forgotten."""
        forgotten, started = self._forgotten.get(kind, 0), time.time()
        if self._polling is None:
            self._polling = asyncio.ensure_future(self._poll())
        try:
            value = await fresh()
        except (Unavailable, Busy):  # away, or this process too busy to read it in time
            copy = self._recall(kind, key, model) or (
                await self._recall_shared(kind, key, model) if shared else None
            )
            if copy is None or not await self._servable(kind, key):
                raise
            return copy
        at, body = datetime.now(UTC), value.model_dump_json()
        if len(body) <= LARGEST and self._may_keep(kind, forgotten):
            self._keep(kind, key, at, body, started)
            if shared and len(body) <= SHARED_LARGEST:
                self._share(kind, key, at, body)
        return Copy(value, at)

    def forget(self, kind: str) -> None:
        """Drop every copy of a kind held in this process, and any a read under way would keep."""
        self._forgotten[kind] = self._forgotten.get(kind, 0) + 1
        for entry in [entry for entry in self._kept if entry[0] == kind]:
            self._chars -= len(self._kept.pop(entry)[1])

    @contextlib.asynccontextmanager
    async def erasing(self) -> AsyncIterator[None]:
        """Around the transaction that applies an erasure, its commit included: Redis is told
        first (RedisError if it cannot be: the erasure is then retried), so that no process
        serves a tracking copy read before it ends; this process drops its own tracking copies
        and keeps none read until the commit is answered (or failed)."""
        await self._mark_erased()
        self.forget(ERASABLE)
        self._erasing += 1
        try:
            yield
        finally:
            self._erasing -= 1
            self.forget(ERASABLE)  # what was read while the commit was on its way
            with contextlib.suppress(Unavailable):  # the first mark, SKEW_SECONDS ahead, stands
                await within("redis", self._mark_erased(), REDIS_SECONDS)

    async def _mark_erased(self) -> None:
        await self._mark_script(keys=[self._mark], args=[time.time() + SKEW_SECONDS])

    def _may_keep(self, kind: str, forgotten: int) -> bool:
        """Whether a read of `kind` begun when it had been forgotten `forgotten` times is kept."""
        if self._forgotten.get(kind, 0) != forgotten:
            return False  # forgotten while it was read
        return kind != ERASABLE or (self._keeps_erasable and not self._erasing)

    async def _servable(self, kind: str, key: str) -> bool:
        """Whether the copy kept may be served: a tracking copy only if read after every
        erasure's mark (asked of Redis now; while it is away, the mark last learned)."""
        if kind != ERASABLE:
            return True
        if not OUTAGES.is_down("redis"):
            with contextlib.suppress(Unavailable):
                await self._learn_mark()
        kept = self._kept.get((kind, key))
        return kept is not None and kept[2] > self._known_mark

    async def _learn_mark(self) -> None:
        raw = await within("redis", self.redis.get(self._mark), REDIS_SECONDS)
        self._known_mark = max(self._known_mark, float(raw or 0))

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(Unavailable):
                await self._learn_mark()
            await asyncio.sleep(POLL_SECONDS)

    async def close(self) -> None:
        """Finish pending writes to Redis and close the connection."""
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self.redis.aclose()

    def _keep(self, kind: str, key: str, at: datetime, body: str, started: float) -> None:
        """Keep in this process an answer read from `started` (seconds since the epoch) to `at`."""
        previous = self._kept.pop((kind, key), None)
        self._chars += len(body) - (len(previous[1]) if previous else 0)
        self._kept[(kind, key)] = (at, body, started)
        while len(self._kept) > IN_PROCESS or self._chars > IN_PROCESS_CHARS:
            self._chars -= len(self._kept.popitem(last=False)[1][1])

    def _recall(self, kind: str, key: str, model: type[M]) -> Copy[M] | None:
        kept = self._kept.get((kind, key))
        return None if kept is None else Copy(model.model_validate_json(kept[1]), kept[0], True)

    def _redis_key(self, kind: str, key: str) -> str:
        return self._key("last-good", kind, hashlib.sha256(key.encode()).hexdigest()[:32])

    def _share(self, kind: str, key: str, at: datetime, body: str) -> None:
        """Write the copy to Redis in the background: a request never waits for Redis."""
        stored, ttl = (
            json.dumps({"at": at.isoformat(), "key": key, "body": body}),
            SHARED_HOURS * 3600,
        )
        write = self._share_script(
            keys=[self._redis_key(kind, key), self._key("last-good", "index")],
            args=[stored, ttl, micros(at), micros(at - timedelta(seconds=ttl)), SHARED_COPIES],
        )
        task = asyncio.ensure_future(self._quietly(write))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _quietly(self, call: Awaitable[object]) -> None:
        # An outage of Redis is logged once; the copy in this process still serves.
        with contextlib.suppress(Unavailable):
            await within("redis", call, seconds=1.0)

    async def _recall_shared(self, kind: str, key: str, model: type[M]) -> Copy[M] | None:
        if OUTAGES.is_down("redis"):
            return None  # the writes in the background find out when it is back
        try:
            raw = await within("redis", self.redis.get(self._redis_key(kind, key)), REDIS_SECONDS)
        except Unavailable:
            return None
        if raw is None:
            return None
        stored = json.loads(raw)
        if stored.get("key") != key:
            return None
        at = datetime.fromisoformat(stored["at"])
        self._keep(kind, key, at, stored["body"], at.timestamp())
        return Copy(model.model_validate_json(stored["body"]), at, True)


def micros(at: datetime) -> int:
    """A moment as whole microseconds since the epoch (an exact score in Redis)."""
    return int(at.timestamp() * 1_000_000)
