"""The labels the pages read come from the shared tables, without a token."""

from __future__ import annotations

from shared.channels import Channel
from shared.sop import COMPLAINT_SOP
from shared.vocabulary import Status
from tests.reporting.conftest import Desk


async def test_vocabulary_labels_every_stored_id(desk: Desk) -> None:
    answer = await desk.http.get("/reporting/v1/vocabulary")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {term["id"] for term in body["channels"]} == {channel.value for channel in Channel}
    assert {term["id"] for term in body["statuses"]} == {status.value for status in Status}
    assert "pemohon" not in {term["id"] for term in body["roles"]}
    steps = {step["id"]: step for step in body["steps"]["complaint"]}
    assert list(steps) == [step.id for step in COMPLAINT_SOP.steps]
    assert steps["disposition"] == {
        "id": "disposition",
        "label": "Disposisi",
        "number": 4,
        "actors": ["kepala_dinas"],
        "per_case": True,
    }
    assert steps["monthly_rekap"]["per_case"] is False
    assert steps["verification"]["actors"] == ["kabid", "sekretaris"]


async def test_vocabulary_gives_the_status_groups_and_resolutions(desk: Desk) -> None:
    body = (await desk.http.get("/reporting/v1/vocabulary")).json()
    groups = {group["id"]: group["statuses"] for group in body["status_groups"]}
    assert groups == {
        "open": ["received", "in_progress", "waiting_info"],
        "waiting": ["waiting_info"],
        "closed": ["resolved", "rejected", "merged", "archived"],
        "answered": ["resolved", "rejected"],
    }
    resolutions = {term["id"]: term for term in body["resolutions"]}
    assert resolutions["CaseRejected"] == {
        "id": "CaseRejected",
        "label": "Ditolak",
        "status": "rejected",
    }
    assert resolutions["FollowUpArchived"]["status"] == "resolved"
    assert resolutions["BacklogClosed"]["status"] == "archived"
    assert resolutions["CaseImported"]["status"] is None
    events = {term["id"]: term["label"] for term in body["events"]}
    assert events["DisposisiIssued"] == "Disposisi"
