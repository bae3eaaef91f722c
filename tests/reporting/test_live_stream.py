"""The live operations stream shows what happens now: the old register's import stays off it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.reporting.operations import LiveStream
from shared.channels import Channel
from shared.events import CaseImported, ComplaintImported, seal
from shared.outages import OUTAGES, Unavailable, within
from shared.settings import Settings
from shared.sop import Kind
from shared.vocabulary import Status
from tests.samples import complaint_received
from tests.servers import PrivateRedis

NOW = datetime.now(UTC)


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveStream]:
    stream = LiveStream(settings)
    try:
        yield stream
    finally:
        await stream.close()


async def test_imported_register_rows_stay_off_the_live_stream(live: LiveStream) -> None:
    case_id, received = uuid4(), NOW - timedelta(days=400)
    common = {"case_id": case_id, "tracking_code": "7K3M-9QXP", "kind": Kind.COMPLAINT}
    common |= {"channel": Channel.IMPORT, "received_at": received}
    imported = ComplaintImported(**common, outcome="resolved", closed_at=received)
    opened = CaseImported(
        **common, at=NOW, sop_version="2023.1", status=Status.RESOLVED, deadline_at=received
    )
    now = complaint_received()
    await live.append(
        [
            seal(imported, subject=case_id, version=1, time=NOW, agency=now.agency),
            seal(opened, subject=case_id, version=1, time=NOW, agency=now.agency),
            now,
        ]
    )
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await live.redis.xrange(live.key)  # type: ignore[assignment]
    assert [fields[b"type"] for _, fields in entries] == [now.type.encode()]


async def test_redis_away_is_said_once_not_once_per_batch(
    settings: Settings, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """While Redis is away, each batch's events miss the stream (best effort): one line when
    the outage starts, one when it ends (before: a warning for every batch projected)."""
    live = LiveStream(settings.model_copy(update={"redis_url": private_redis.url}))
    try:
        await live.append([complaint_received()])
        private_redis.stop()
        with caplog.at_level(logging.WARNING):
            for _ in range(20):
                with contextlib.suppress(Unavailable):
                    await within("redis", live.append([complaint_received()]), 1.0)
            private_redis.start()
            await within("redis", live.append([complaint_received()]), 1.0)
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(said) == 2, said
        assert said[0].startswith("redis unavailable")
        assert said[1].startswith("redis back")
        assert not OUTAGES.is_down("redis")
    finally:
        await live.close()
