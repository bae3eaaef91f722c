"""The last good copy, in this process: kept when read, served marked when the store is away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.reporting import last_good
from services.reporting.api import Tracking
from services.reporting.last_good import STALE_HEADER, LastGood
from shared.outages import OUTAGES, Unavailable
from shared.settings import Settings
from tests.polling import eventually

SEEN = Tracking(tracking_code="7K3M-9QXP", status="resolved", status_label="Selesai")


@pytest.fixture
async def kept(settings: Settings) -> AsyncIterator[LastGood]:
    copies = LastGood(settings)
    try:
        yield copies
    finally:
        await copies.close()


async def fresh() -> Tracking:
    return SEEN


async def away() -> Tracking:
    raise Unavailable("postgres")


async def has_copy(kept: LastGood, code: str) -> bool:
    """Whether a tracking copy of the code is served while the database is away."""
    try:
        return (await kept.read("track", code, Tracking, away, shared=False)).stale
    except Unavailable:
        return False


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


async def test_a_read_under_way_while_its_kind_is_forgotten_is_not_kept(kept: LastGood) -> None:
    """The consumer forgets tracking copies when it erases a case; a read that had the answer
    from before the erasure in hand at that moment must not bring it back as a copy."""
    answered, release = asyncio.Event(), asyncio.Event()

    async def read_before_the_erasure() -> Tracking:
        answered.set()
        await release.wait()
        return SEEN

    under_way = asyncio.create_task(
        kept.read("track", "7K3M-9QXP", Tracking, read_before_the_erasure, shared=False)
    )
    await asyncio.wait_for(answered.wait(), 5)
    kept.forget("track")
    release.set()
    assert (await under_way).value == SEEN  # served to its reader …
    with pytest.raises(Unavailable):  # … but not kept
        await kept.read("track", "7K3M-9QXP", Tracking, away, shared=False)
    await kept.read("track", "7K3M-9QXP", Tracking, fresh, shared=False)  # read afterwards: kept
    assert (await kept.read("track", "7K3M-9QXP", Tracking, away, shared=False)).stale


async def test_an_erasure_in_another_process_stops_its_tracking_copies_being_served(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only one reporting process consumes a case's erasure (its partition's single active
    consumer); every other one kept its tracking copies and served the erased answer while the
    database was away. The rekap's copies hold no case: served as before."""
    monkeypatch.setattr(last_good, "SKEW_SECONDS", 0.0)
    serving, consuming = LastGood(settings), LastGood(settings)  # two processes, one Redis
    try:
        await serving.read("track", "7K3M-9QXP", Tracking, fresh, shared=False)
        await serving.read("rekap", "2026", Tracking, fresh)
        async with consuming.erasing():
            pass  # the erasure's transaction
        with pytest.raises(Unavailable):
            await serving.read("track", "7K3M-9QXP", Tracking, away, shared=False)
        assert (await serving.read("rekap", "2026", Tracking, away)).stale
        await serving.read("track", "7K3M-9QXP", Tracking, fresh, shared=False)  # read after it
        assert (await serving.read("track", "7K3M-9QXP", Tracking, away, shared=False)).stale
    finally:
        await serving.close()
        await consuming.close()


async def test_a_read_answered_while_an_erasure_commits_is_not_kept(kept: LastGood) -> None:
    """The read began after the erasure began and was answered before its commit: it may hold
    the case as it was."""
    async with kept.erasing():
        served = await kept.read("track", "7K3M-9QXP", Tracking, fresh, shared=False)
    assert served.value == SEEN
    assert not await has_copy(kept, "7K3M-9QXP")


async def test_with_redis_away_an_erasure_learned_before_still_stops_the_copy(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No erasure commits without Redis, so while it is away the mark learned last is whole:
    a copy read before it is not served, one read after it is (tests/reporting/test_outage.py
    serves this process's copies with Redis and the database away)."""
    monkeypatch.setattr(last_good, "SKEW_SECONDS", 0.0)
    serving, consuming = LastGood(settings), LastGood(settings)
    try:
        await serving.read("track", "AAAA-AAAA", Tracking, fresh, shared=False)
        async with consuming.erasing():
            pass
        await serving.read("track", "BBBB-BBBB", Tracking, fresh, shared=False)  # after it

        async def learned() -> bool:  # once a second, in the background
            OUTAGES.down("redis", "a test")
            try:
                await serving.read("track", "AAAA-AAAA", Tracking, away, shared=False)
            except Unavailable:
                return True
            finally:
                OUTAGES.up("redis")
            return False

        assert await eventually(learned, within=5)
        OUTAGES.down("redis", "a test")
        assert (await serving.read("track", "BBBB-BBBB", Tracking, away, shared=False)).stale
    finally:
        OUTAGES.up("redis")  # other tests share this process's outages
        await serving.close()
        await consuming.close()


async def test_with_a_read_replica_no_tracking_copy_is_kept(settings: Settings) -> None:
    """A lagging replica answers with a case as it was before its erasure."""
    kept = LastGood(settings.model_copy(update={"postgres_replica_host": "127.0.0.1"}))
    try:
        await kept.read("track", "7K3M-9QXP", Tracking, fresh, shared=False)
        assert not await has_copy(kept, "7K3M-9QXP")
    finally:
        await kept.close()


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
