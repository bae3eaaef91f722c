"""An Open311 request is a case's public row: the answer masked, nothing of a confidential case
but its status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.reporting.open311 import request_of
from shared.settings import Settings

RECEIVED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def case(**changes: Any) -> dict[str, Any]:
    """A read-model row as case_summary holds it."""
    return {
        "tracking_code": "7K3M-9QXP",
        "status": "resolved",
        "kind": "complaint",
        "category": None,
        "anonymous": False,
        "confidential": False,
        "received_at": RECEIVED,
        "waiting_since": None,
        "closed_at": datetime(2026, 3, 5, 8, 30, tzinfo=UTC),
        "deadline_at": datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
        "public_answer": "Sudah kami hubungi di 0812-3456-7890 atau budi@example.id.",
    } | changes


def test_the_public_answer_is_masked_in_the_status_notes() -> None:
    row = request_of(case(), Settings())
    assert row["status"] == "closed"
    assert row["service_code"] == "lainnya"
    assert "0812-3456-7890" not in row["status_notes"]
    assert "budi@example.id" not in row["status_notes"]
    assert row["status_notes"].startswith("Selesai. Sudah kami hubungi di ")
    assert row["requested_datetime"] == "2026-03-02T01:00:00Z"
    assert row["updated_datetime"] == "2026-03-05T08:30:00Z"
    assert row["expected_datetime"] == "2026-03-20T09:00:00Z"
    assert row["description"] is None
    assert row["address"] is None


def test_a_confidential_case_shows_only_its_code_and_status() -> None:
    row = request_of(case(confidential=True, status="in_progress"), Settings())
    assert row == {
        "service_request_id": "7K3M-9QXP",
        "status": "open",
        "status_notes": "Diproses",
    }


def test_a_consultation_is_its_own_service() -> None:
    row = request_of(case(kind="consultation", category="biaya"), Settings())
    assert row["service_code"] == "konsultasi"
