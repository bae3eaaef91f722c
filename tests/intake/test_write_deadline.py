"""A save that gets through only after its deadline rolls back, and says so."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import asyncpg
import pytest

from services.intake.draft import Draft, to_pending
from services.intake.inbox import Inbox
from shared.channels import Channel
from shared.sop import Kind
from shared.writes import passed_deadline
from tests.intake.conftest import Desk
from tests.polling import eventually

pytestmark = pytest.mark.store_deadline  # it holds commits past their deadline


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


async def test_a_commit_under_way_at_its_deadline_is_waited_for_not_told_503(desk: Desk) -> None:
    """Its statements done in time, the COMMIT still under way at the deadline (here held at
    commit on a lock the test holds): the citizen heard 503 "not confirmed, try again" for a
    submission that was then stored, and a retry without an Idempotency-Key filed it twice.
    The commit under way is waited for a moment more: 201."""
    writer = desk.app.state.inbox.writer
    holder = await asyncpg.connect(desk.settings.postgres_dsn())
    try:
        await holder.execute(
            "CREATE FUNCTION intake.held_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$; "
            "CREATE CONSTRAINT TRIGGER held_at_commit AFTER INSERT ON intake.submission_index "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION intake.held_at_commit()"
        )
        await holder.execute("SELECT pg_advisory_lock(4242)")
        form = {"text": "Antrean di loket terlalu lama, mohon ditambah petugas."}
        posting = asyncio.ensure_future(desk.http.post("/intake/v1/complaints", json=form))

        async def committing() -> bool:
            return bool(writer._committing) and writer._due is not None

        await eventually(committing, within=5, interval=0.01)
        await asyncio.sleep(writer._due - time.monotonic() + 0.1)  # past its deadline
        await holder.execute("SELECT pg_advisory_unlock(4242)")  # the COMMIT ends now
        answer = await posting
    finally:
        await holder.close()
    assert answer.status_code == 201, answer.text
    [stored] = await desk.fetch("SELECT tracking_code FROM intake.submission_index")
    assert stored["tracking_code"] == answer.json()["tracking_code"]
