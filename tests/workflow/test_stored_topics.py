"""What the store holds from before the case aggregate was a package still loads and goes out.

stored_case_events.json was recorded at the commit it names, when the aggregate was the module
`services.workflow.case` (one class over five bases): streams that together record every
event a case can record, as the store held them (topic and state), each with the state the
case had then. Pure: an in-memory store, no servers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from services.workflow.case import Case
from services.workflow.wire import PUBLISHED, wire
from shared.relay import translator

RECORDED = json.loads((Path(__file__).parent / "stored_case_events.json").read_text())
ROWS = [event for case in RECORDED["cases"] for event in case["events"]]
FORMER = "services.workflow.case:Case"
ADDED_SINCE = {
    "BacklogClosed",
    "CaseTransferred",
    "CaseDeclined",
}  # events a case records since the recording was made


def stored_then() -> Application[Any]:
    """An event store holding exactly the rows recorded then."""
    app: Application[Any] = Application()
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=UUID(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"].encode(),
            )
            for row in ROWS
        ]
    )
    return app


def test_the_recording_covers_every_event_a_case_publishes_under_the_former_topics() -> None:
    names = {cls.__name__ for cls in PUBLISHED if issubclass(cls, Case.Event)} - ADDED_SINCE
    assert {row["topic"] for row in ROWS} == {f"{FORMER}.{name}" for name in names}
    # Today's classes record under the package's own module; the former topics still resolve.
    assert not any(row["topic"].startswith(Case.__module__) for row in ROWS)
    for name in names:
        assert resolve_topic(f"{FORMER}.{name}") is getattr(Case, name)
    assert resolve_topic(FORMER) is Case


def test_each_case_stored_then_loads_with_the_state_it_had() -> None:
    app = stored_then()
    for recorded in RECORDED["cases"]:
        then = app.mapper.transcoder.decode(recorded["state"].encode())
        now = vars(app.repository.get(then["_id"]))
        assert {name: now[name] for name in then} == then
        # declared once now, for every case: erasure's mark, None until erased; when an
        # imported case was imported; the last of the complainant's replies and disputes taken
        # in, 0 until one is
        declared = {"_pending_events", "data_erased_at", "imported_at", "heard_versions"}
        assert set(now) - set(then) <= declared
        assert now.get("heard_versions", set()) == set()
        assert now["data_erased_at"] == then.get("data_erased_at")


def test_each_event_stored_then_still_goes_out_under_its_contract() -> None:
    class Keys:
        def unseal(self, case_id: UUID, blob: str) -> str:
            return blob

    app = stored_then()
    translate = translator(app, wire(Keys()))  # type: ignore[arg-type]  # only unseal is used
    notifications = app.recorder.select_notifications(start=1, limit=len(ROWS))
    assert len(notifications) == len(ROWS)
    for stored in notifications:
        row = {
            "notification_id": stored.id,
            "originator_id": stored.originator_id,
            "originator_version": stored.originator_version,
            "topic": stored.topic,
            "state": stored.state,
        }
        envelope = translate(row)  # type: ignore[arg-type]
        assert envelope is not None
        assert envelope.data.name == stored.topic.rsplit(".", 1)[-1]
        assert envelope.streamversion == stored.originator_version
