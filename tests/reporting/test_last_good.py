"""The last good copy, in this process: kept when read, served marked when the store is away."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.reporting import last_good
from services.reporting.api import Tracking
from services.reporting.last_good import STALE_HEADER, LastGood
from shared.outages import Unavailable
from shared.settings import Settings

SEEN = Tracking(tracking_code="7K3M-9QXP", status="resolved", status_label="Selesai")


@pytest.fixture
async def kept() -> AsyncIterator[LastGood]:
    copies = LastGood(Settings())
    try:
        yield copies
    finally:
        await copies.close()


async def fresh() -> Tracking:
    return SEEN


async def away() -> Tracking:
    raise Unavailable("postgres")


async def test_a_copy_is_served_marked_with_when_it_was_read(kept: LastGood) -> None:
    first = await kept.read("track", "7K3M-9QXP", Tracking, fresh, shared=False)
    assert first.headers() == {}
    again = await kept.read("track", "7K3M-9QXP", Tracking, away, shared=False)
    assert (again.value, again.at, again.stale) == (SEEN, first.at, True)
    assert again.headers() == {STALE_HEADER: first.at.isoformat(timespec="seconds")}
    with pytest.raises(Unavailable):  # never read: nothing to serve
        await kept.read("track", "AAAA-BBBB", Tracking, away, shared=False)


async def test_forgetting_a_kind_drops_its_copies(kept: LastGood) -> None:
    await kept.read("track", "7K3M-9QXP", Tracking, fresh, shared=False)
    kept.forget("track")
    with pytest.raises(Unavailable):
        await kept.read("track", "7K3M-9QXP", Tracking, away, shared=False)


async def test_the_process_keeps_only_so_much(
    kept: LastGood, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(last_good, "IN_PROCESS_CHARS", len(SEEN.model_dump_json()) * 2)
    for code in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
        await kept.read("track", code, Tracking, fresh, shared=False)
    with pytest.raises(Unavailable):  # the oldest went first
        await kept.read("track", "AAAA-AAAA", Tracking, away, shared=False)
    assert (await kept.read("track", "CCCC-CCCC", Tracking, away, shared=False)).stale


async def test_redis_keeps_only_so_many_copies_the_oldest_dropped_first(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger's made-up queries, each a copy, cannot fill Redis."""
    monkeypatch.setattr(last_good, "SHARED_COPIES", 5)
    copies = LastGood(settings)
    codes = [f"AAAA-{number:04d}" for number in range(12)]
    try:
        for code in codes:
            await copies.read("track", code, Tracking, fresh)
    finally:
        await copies.close()  # its writes to Redis done
    shared = LastGood(settings)  # another process: only Redis has the copies
    try:
        kept = [
            code
            for code in codes
            if await shared._recall_shared("track", code, Tracking) is not None
        ]
        stored = [k async for k in shared.redis.scan_iter(settings.redis_key("last-good", "*"))]
    finally:
        await shared.close()
    assert kept == codes[-5:]
    assert len(stored) == 5 + 1  # the copies and their index
