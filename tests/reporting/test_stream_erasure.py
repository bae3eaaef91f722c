"""The live stream forgets an erased case: its entries gone (bytes too), the rest as they were."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from services.reporting.app import TRANSIENT
from services.reporting.operations import LiveStream
from services.reporting.tenancy import Scope
from shared.events import Envelope, PersonalDataErased, seal
from shared.outages import Unavailable, within
from shared.settings import Settings
from tests.infrastructure import free_port
from tests.samples import answered_directly, complaint_received

NOW = datetime.now(UTC)
SECRET = "Siti Aminah 0812-3456-7890"
MARKER = "Qzxw"  # short: a DUMP is LZF-compressed and splits longer text (checked with XDEL)


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveStream]:
    stream = LiveStream(settings)
    try:
        yield stream
    finally:
        await stream.close()


def answered(answer: str) -> list[Envelope]:
    return answered_directly(complaint_received(), answer, at=NOW)


def erasure(case: list[Envelope]) -> Envelope:
    data = PersonalDataErased(case_id=case[0].subject, erased_at=NOW)
    return seal(data, subject=case[0].subject, version=9, time=NOW, agency=case[0].agency)


async def entries(live: LiveStream) -> list[tuple[bytes, dict[bytes, Any]]]:
    found: list[tuple[bytes, dict[bytes, Any]]] = await live.redis.xrange(live.key)  # type: ignore[assignment]
    return found


async def test_an_erased_case_leaves_the_stream_and_its_bytes_with_it(live: LiveStream) -> None:
    erased, other = answered(f"{SECRET} {MARKER}"), answered("Izin Anda sudah terbit.")
    await live.append([*erased, *other])
    before = await entries(live)
    last = before[-1][0]
    await live.forget({str(erased[0].subject)})
    await live.append([erasure(erased)])
    after = await entries(live)
    assert after[:-1] == before[3:]  # the other case's entries, with their own ids
    assert b"PersonalDataErased" in after[-1][1][b"type"]
    assert after[-1][0] > last  # ids go on from where they were: Last-Event-ID still works
    assert SECRET.encode() not in b"".join(f[b"body"] for _, f in after)
    dumped = await live.redis.dump(live.key) or b""
    assert MARKER.encode() not in dumped  # not merely marked deleted (XDEL keeps the bytes)


async def test_a_batch_with_an_erasure_puts_none_of_the_cases_earlier_events_on(
    live: LiveStream,
) -> None:
    erased, other = answered(SECRET), answered("Izin Anda sudah terbit.")
    await live.append([*erased, *other, erasure(erased)])
    types = [fields[b"type"].decode() for _, fields in await entries(live)]
    assert len(types) == 4
    assert types[-1].endswith("PersonalDataErased.v1")
    assert SECRET.encode() not in b"".join(f[b"body"] for _, f in await entries(live))


async def test_forgetting_a_case_the_stream_never_held_changes_nothing(live: LiveStream) -> None:
    await live.forget({str(answered("")[0].subject)})  # no stream at all yet
    kept = answered("Izin Anda sudah terbit.")
    await live.append(kept)
    before = await entries(live)
    await live.forget({str(answered("")[0].subject)})
    assert await entries(live) == before


async def test_an_erasure_waits_for_redis_instead_of_passing_it_by(settings: Settings) -> None:
    away = LiveStream(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}"}))
    try:
        with contextlib.suppress(Unavailable):  # best effort, as the consumer appends: the
            await within("redis", away.append(answered(SECRET)), 1.0)  # stream may miss events
        with pytest.raises(TRANSIENT):  # the consumer retries the batch in place
            await away.forget({str(answered("")[0].subject)})
    finally:
        await away.close()


async def test_a_follower_sees_the_later_events_once_across_a_rewrite(live: LiveStream) -> None:
    erased, other, later = answered(SECRET), answered("Sudah."), answered("Juga sudah.")
    await live.append([*erased, *other])
    following = cast(
        AsyncGenerator[dict[str, str]], live.follow("0-0", set(), Scope((), province=True))
    )
    seen = [await anext(following) for _ in range(6)]  # the follower waits at the newest entry
    waiting = asyncio.ensure_future(anext(following))
    await live.forget({str(erased[0].subject)})
    await live.append([*later, erasure(erased)])
    async with asyncio.timeout(10):
        seen += [await waiting, *[await anext(following) for _ in range(3)]]
    await following.aclose()
    ids = [json.loads(event["data"])["id"] for event in seen]
    assert ids == [e.id for e in [*erased, *other, *later, erasure(erased)]]


async def test_a_follower_gets_only_the_events_of_the_agencies_it_reaches(
    live: LiveStream,
) -> None:
    ours = answered("Sudah.")
    theirs = answered_directly(complaint_received(agency="dinas-b"), "Sudah.", at=NOW)
    mixed = [event for pair in zip(ours, theirs, strict=True) for event in pair]
    await live.append(mixed)
    following = cast(
        AsyncGenerator[dict[str, str]], live.follow("0-0", set(), Scope.of(ours[0].agency))
    )
    async with asyncio.timeout(10):
        seen = [await anext(following) for _ in range(3)]
    await following.aclose()
    assert [json.loads(event["data"])["id"] for event in seen] == [e.id for e in ours]
