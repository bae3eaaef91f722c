"""A save that gets through only after its deadline rolls back, and says so."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from services.intake.draft import Draft, to_pending
from services.intake.inbox import Inbox
from shared.channels import Channel
from shared.sop import Kind
from shared.writes import passed_deadline
from tests.intake.conftest import Desk


async def test_a_commit_past_its_deadline_rolls_back(desk: Desk) -> None:
    inbox: Inbox = desk.app.state.inbox
    draft = Draft(
        kind=Kind.COMPLAINT,
        channel=Channel.WEB,
        text="Antrean loket terlalu lama.",
        received_at=datetime.now(UTC),
        agency=inbox.settings.agency,
    )
    late = time.monotonic() - 1
    with pytest.raises(Exception, match="write deadline passed") as caught:
        await asyncio.to_thread(inbox.writer.commit, [to_pending(draft)], late)
    assert passed_deadline(caught.value)
    assert await desk.fetch("SELECT 1 FROM intake.submission_index") == []
    assert await desk.fetch("SELECT 1 FROM intake.personal_keys") == []
    await asyncio.to_thread(inbox.writer.commit, [to_pending(draft)], time.monotonic() + 5)
    assert len(await desk.fetch("SELECT 1 FROM intake.submission_index")) == 1
