"""An Open311 request is a case's public row: the answer masked, nothing of a confidential case
but its status."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from services.reporting.last_good import STALE_HEADER
from services.reporting.open311 import request_of
from shared.settings import Settings
from tests.polling import eventually
from tests.reporting.conftest import Away
from tests.samples import answered_directly, complaint_received

RECEIVED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PROMISE = 2.0  # seconds: every endpoint answers within this while the database is away


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


@pytest.mark.store_deadline  # it stalls the store and times the answers
async def test_reads_answer_from_the_last_good_copy_while_the_database_is_away(
    away: Away,
) -> None:
    desk = away.desk
    plain, unseen = complaint_received(), complaint_received()
    answered = "Izin Anda terbit; bila ada kendala hubungi 0812-3456-7890."
    await desk.bus.publish(*answered_directly(plain, answered, at=plain.time), unseen)
    code = str(plain.data.model_dump()["tracking_code"])
    paths = [
        f"/open311/v2/requests/{code}.json",
        f"/open311/v2/requests/{code}.xml",
        f"/open311/v2/requests.json?service_request_id={code}",
        f"/open311/v2/tokens/{code}.json",
    ]

    async def projected() -> bool:
        answers = [await desk.http.get(path) for path in paths]
        return all(a.status_code == 200 for a in answers) and '"closed"' in answers[0].text

    assert await eventually(projected, within=20)
    before = {path: (await desk.http.get(path)).content for path in paths}
    assert b"0812-3456-7890" not in before[paths[0]]
    assert b"Izin Anda terbit" in before[paths[0]]
    away.postgres.cut()

    async def not_ready() -> bool:
        return (await desk.http.get("/readyz")).status_code == 503

    assert await eventually(not_ready, within=5, interval=0.2)
    for path in paths:
        started = time.monotonic()
        answer = await desk.http.get(path)
        assert time.monotonic() - started < PROMISE, path
        assert answer.status_code == 200, (path, answer.text)
        assert answer.headers[STALE_HEADER], path
        assert answer.content == before[path], path
    never_read = f"/open311/v2/requests/{unseen.data.model_dump()['tracking_code']}.xml"
    refused = await desk.http.get(never_read)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("text/xml")
    assert int(refused.headers["retry-after"]) > 0
    assert b"<errors><error><code>503</code>" in refused.content
    away.postgres.restore()
