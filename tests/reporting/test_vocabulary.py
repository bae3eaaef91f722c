"""The labels the pages read come from the shared tables, without a token."""

from __future__ import annotations

from shared.channels import Channel
from shared.sop import COMPLAINT_SOP, Status
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
