"""SP4N-LAPOR!'s disposisi of a complaint it sent before: one DispositionReceived per move,
never a second submission; a repeat changes nothing; LAPOR!'s own move is not echoed back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.intake.submission import Submission
from shared.agencies import Agency
from shared.events import seal
from shared.events import workflow as wf
from shared.sop import PROVINCE, Role
from tests.bus import bus
from tests.intake.conftest import LAPOR_INBOUND, Desk
from tests.intake.test_agencies import register
from tests.polling import eventually

ENDPOINT = "/intake/v1/lapor/complaints"
AUTH = {"Authorization": f"Bearer {LAPOR_INBOUND}"}
B = "dinas-pu"


def report(tracking_id: str = "LAP-2026-0700", **fields: Any) -> dict[str, Any]:
    return {
        "tracking_id": tracking_id,
        "content": "Jalan di depan pasar rusak berat sejak dua bulan.",
        "reporter": {"name": "Budi Santoso", "email": "budi@example.id"},
        **fields,
    }


@pytest.fixture
async def province(desk: Desk) -> Desk:
    """The desk of a deployment that serves the home agency and Dinas PU."""
    await register(desk.settings, Agency(id=B, name="Dinas Pekerjaan Umum"))
    desk.app.state.inbox.agencies.forget()
    return desk


async def post(desk: Desk, body: dict[str, Any]) -> Any:
    return await desk.http.post(ENDPOINT, json=body, headers=AUTH)


async def test_a_disposisi_to_another_agency_is_one_event_on_the_same_submission(
    province: Desk,
) -> None:
    first = await post(province, report())
    assert first.status_code == 201, first.text
    moves = [await post(province, report(instansi=B)) for _ in range(3)]
    assert [m.status_code for m in moves] == [200] * 3
    assert {m.json()["tracking_code"] for m in moves} == {first.json()["tracking_code"]}
    assert await province.events() == ["ComplaintReceived", "DispositionReceived"]
    [row] = await province.fetch(
        "SELECT state FROM intake.submissions_events WHERE topic LIKE '%DispositionReceived'"
    )
    state = bytes(row["state"])
    home = province.settings.agency
    assert f'"from_agency":"{home}"'.encode() in state
    assert f'"to_agency":"{B}"'.encode() in state
    assert b'"lapor_ref":"LAP-2026-0700"' in state


async def test_a_withdrawal_to_the_coordinator_and_back_are_two_moves(province: Desk) -> None:
    assert (await post(province, report(instansi=B))).status_code == 201
    assert (await post(province, report(instansi=PROVINCE))).status_code == 200
    assert (await post(province, report(instansi=B))).status_code == 200
    assert (await post(province, report())).status_code == 200  # no instansi: a plain repeat
    events = await province.events()
    assert events == ["ComplaintReceived", "DispositionReceived", "DispositionReceived"]


async def test_a_disposisi_to_an_agency_not_served_is_a_422_storing_nothing(
    province: Desk,
) -> None:
    assert (await post(province, report())).status_code == 201
    refused = await post(province, report(instansi="dinas-lain"))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"][0]["field"] == "instansi"
    assert await province.events() == ["ComplaintReceived"]


async def test_a_new_complaint_to_the_coordinator_is_a_422(province: Desk) -> None:
    refused = await post(province, report("LAP-2026-0701", instansi=PROVINCE))
    assert refused.status_code == 422, refused.text
    assert await province.events() == []


async def test_lapor_own_disposisi_is_not_told_back_to_lapor(province: Desk) -> None:
    """A transfer that follows LAPOR!'s disposisi is LAPOR!'s news, not ours: no follow-up;
    the next step's progress is told as always."""
    answer = await post(province, report("LAP-2026-0702"))
    code = answer.json()["tracking_code"]
    [row] = await province.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1", code
    )
    case_id, at, home = row["case_id"], datetime.now(UTC), province.settings.agency
    moved = wf.CaseTransferred(
        case_id=case_id,
        at=at,
        step="identification",
        by_role=Role.KOORDINATOR,
        from_agency=home,
        to_agency=B,
        current_step="identification",
        step_due_at=at,
        deadline_at=at,
        deadline_restarted=True,
        lapor_ref="LAP-2026-0702",
    )
    progress = wf.Escalated(
        case_id=case_id,
        at=at,
        step="identification",
        by_role=Role.TIM_PENGADUAN,
        working_minutes=5,
        within_standard=True,
        next_step="verification",
    )
    async with bus(province.settings) as connected:
        await connected.publish(seal(moved, subject=case_id, version=2, time=at, agency=B))
        await connected.publish(seal(progress, subject=case_id, version=3, time=at, agency=B))

    async def told() -> list[dict[str, Any]]:
        sent = province.graph.sent_to("/lapor/complaints/LAP-2026-0702/follow-ups")
        return sent if len(sent) >= 2 else []

    receipt, escalated = await eventually(told, within=10)
    assert "diteruskan kepada pimpinan" in escalated["message"]
    assert not any("instansi" in m["message"] for m in (receipt, escalated))
    submission: Submission | None = province.app.state.inbox.submissions.submission(case_id)
    assert submission is not None
    assert submission.lapor_agency == home
