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
- tracking copies only in this process: Redis holds nothing of a case (stream_erasure.py), and
  an erasure in the consumed events drops every tracking copy of this process, and a read
  under way while it did is not kept (an erased answer never comes back from a copy).
A code never read before the outage has no copy: 503, as for every other read.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
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
        self._kept: OrderedDict[tuple[str, str], tuple[datetime, str]] = OrderedDict()
        self._chars = 0  # of the bodies kept in this process
        self._forgotten: dict[str, int] = {}  # how many times each kind was forgotten
        self._writes: set[asyncio.Task[None]] = set()
        self._share_script = self.redis.register_script(SHARE)

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
        forgotten = self._forgotten.get(kind, 0)
        try:
            value = await fresh()
        except (Unavailable, Busy):  # away, or this process too busy to read it in time
            copy = self._recall(kind, key, model) or (
                await self._recall_shared(kind, key, model) if shared else None
            )
            if copy is None:
                raise
            return copy
        at, body = datetime.now(UTC), value.model_dump_json()
        if len(body) <= LARGEST and self._forgotten.get(kind, 0) == forgotten:
            self._keep(kind, key, at, body)
            if shared and len(body) <= SHARED_LARGEST:
                self._share(kind, key, at, body)
        return Copy(value, at)

    def forget(self, kind: str) -> None:
        """Drop every copy of a kind held in this process, and any a read under way would keep."""
        self._forgotten[kind] = self._forgotten.get(kind, 0) + 1
        for entry in [entry for entry in self._kept if entry[0] == kind]:
            self._chars -= len(self._kept.pop(entry)[1])

    async def close(self) -> None:
        """Finish pending writes to Redis and close the connection."""
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self.redis.aclose()

    def _keep(self, kind: str, key: str, at: datetime, body: str) -> None:
        previous = self._kept.pop((kind, key), None)
        self._chars += len(body) - (len(previous[1]) if previous else 0)
        self._kept[(kind, key)] = (at, body)
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
        self._keep(kind, key, at, stored["body"])
        return Copy(model.model_validate_json(stored["body"]), at, True)


def micros(at: datetime) -> int:
    """A moment as whole microseconds since the epoch (an exact score in Redis)."""
    return int(at.timestamp() * 1_000_000)
