"""Erasure on the live stream: once a case's personal data is erased, Redis holds none of it.

The stream's entries are whole CloudEvents (an answer may name the person), and a Redis Stream
entry cannot be edited; `XDEL` only marks an entry deleted, its bytes stay in the stream's
node (`DUMP` and the RDB file still show them). So the stream is rewritten without the case's
entries: read it under `WATCH`, then in one `MULTI` delete the key, add back every other entry
with its own id and keep the last id (`XSETID`), so clients resume with Last-Event-ID as before.
The stream is a lossy window by design: the case's earlier events are simply gone from it; the
erasure events themselves (they carry no personal data) stay.

Redis holds nothing else of a case: the rate limits count per address and per keyed hash of a
sender for one minute, and no service caches cases in Redis.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from shared.events import CaseDataErased, Envelope, PersonalDataErased

ERASURES = (PersonalDataErased, CaseDataErased)
"""The events after which nothing of a case's personal data may stay readable."""
_ATTEMPTS = 10  # a rewrite that keeps meeting a concurrent append gives up (and is retried)


def erased_cases(envelopes: Iterable[Envelope]) -> set[str]:
    """The cases whose personal data these events erase."""
    return {str(e.data.case_id) for e in envelopes if isinstance(e.data, ERASURES)}


def about(fields: dict[bytes, bytes], cases: set[str]) -> bool:
    """Whether a stream entry is about one of the cases (other than its erasure)."""
    if not any(case.encode() in fields[b"body"] for case in cases):
        return False  # the usual answer, without parsing the event
    event = json.loads(fields[b"body"])
    if event["type"] in {erasure.event_type() for erasure in ERASURES}:
        return False
    data = event.get("data") or {}
    return event.get("subject") in cases or data.get("case_id") in cases


def kept(envelopes: Sequence[Envelope]) -> list[Envelope]:
    """What of a batch may go on the stream: nothing of a case erased in it, but the erasure."""
    cases = erased_cases(envelopes)
    return [e for e in envelopes if isinstance(e.data, ERASURES) or not _of(e) & cases]


def _of(envelope: Envelope) -> set[str]:
    return {str(envelope.subject), str(envelope.data.get("case_id", ""))}


async def forget(redis: aioredis.Redis, key: str, cases: set[str]) -> int:
    """Rewrite the stream without the cases' entries; how many went. RedisError on failure."""
    if not cases:
        return 0
    async with redis.pipeline(transaction=True) as pipe:
        for _ in range(_ATTEMPTS):
            try:
                await pipe.watch(key)
                entries: list[tuple[bytes, dict[bytes, bytes]]] = await pipe.xrange(key)  # type: ignore[assignment]
                remaining = [(i, fields) for i, fields in entries if not about(fields, cases)]
                if len(remaining) == len(entries):
                    return 0
                last = (await pipe.xinfo_stream(key))["last-generated-id"]
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.delete(key)
                for entry_id, fields in remaining:
                    pipe.xadd(key, fields, id=entry_id)  # type: ignore[arg-type]
                if remaining:
                    pipe.execute_command("XSETID", key, last)
                await pipe.execute()
                return len(entries) - len(remaining)
            except WatchError:
                continue
    raise WatchError(f"{key}: kept changing while an erasure rewrote it")
