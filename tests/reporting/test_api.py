"""Public tracking, officers' views and exports, through the API, fed by real events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx

from shared.events import ComplaintReceived, Envelope, seal
from shared.events import workflow as wf
from shared.sop import Kind, Role
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import case_opened, complaint_received, workflow_event

NOW = datetime.now(UTC)


def received(agency: str, **flags: Any) -> Envelope:
    case_id = uuid4()
    data = ComplaintReceived(
        case_id=case_id,
        tracking_code=complaint_received().data.model_dump()["tracking_code"],
        kind=Kind.COMPLAINT,
        channel="whatsapp",
        received_at=NOW,
        complainant_ref=uuid4(),
        **flags,
    )
    return seal(data, subject=case_id, version=1, time=NOW, agency=agency)


def answered(envelope: Envelope) -> list[Envelope]:
    return [
        case_opened(envelope),
        workflow_event(
            wf.ResolvedDirectly,
            envelope,
            2,
            NOW,
            step="identification",
            by_role=Role.TIM_PENGADUAN,
            working_minutes=3.0,
            within_standard=True,
            public_answer="Izin Anda sudah terbit.",
        ),
    ]


async def track(http: httpx.AsyncClient, envelope: Envelope) -> httpx.Response:
    code = envelope.data.model_dump()["tracking_code"]
    return await http.get(f"/reporting/v1/track/{code}")


async def test_tracking_shows_the_answer_but_never_personal_data(desk: Desk) -> None:
    plain, anonymous = (
        received(desk.settings.agency),
        received(desk.settings.agency, anonymous=True),
    )
    confidential = received(desk.settings.agency, confidential=True)
    for case in (plain, anonymous, confidential):
        await desk.bus.publish(case, *answered(case))

    async def all_resolved() -> bool:
        statuses = [
            (await track(desk.http, c)).json().get("status")
            for c in (plain, anonymous, confidential)
        ]
        return statuses == ["resolved"] * 3

    assert await eventually(all_resolved, within=15)
    for case in (plain, anonymous):
        body = (await track(desk.http, case)).json()
        assert body["answer"] == "Izin Anda sudah terbit."
        assert body["kind"] == "complaint"
        assert body["current_step"] is None
        assert set(body) <= {
            "tracking_code",
            "status",
            "status_label",
            "kind",
            "kind_label",
            "channel_label",
            "current_step",
            "current_step_label",
            "received_at",
            "deadline_at",
            "closed_at",
            "answer",
            "own",  # the complainant's own view's fields: empty without the receipt secret
            "history",
            "request",
        }
        assert body["own"] is None
        assert body["history"] is None
        assert "complainant_ref" not in str(body)
        assert str(case.data.model_dump()["complainant_ref"]) not in str(body)
    private = (await track(desk.http, confidential)).json()
    assert {key for key, value in private.items() if value is not None} == {
        "tracking_code",
        "status",
        "status_label",
    }


async def test_an_unknown_code_and_another_agencys_code_look_the_same(desk: Desk) -> None:
    elsewhere = received("dpmptsp-kota-lain")
    await desk.bus.publish(elsewhere)
    other_code = elsewhere.data.model_dump()["tracking_code"]

    async def arrived() -> bool:
        answer = await desk.http.get("/reporting/v1/rekap", params={"group_by": "kind"})
        return (
            answer.status_code == 200
            and (await desk.http.get("/reporting/v1/track/XXXX-XXXX")).status_code == 404
        )

    assert await eventually(arrived, within=10)
    theirs = await desk.http.get(f"/reporting/v1/track/{other_code}")
    unknown = await desk.http.get("/reporting/v1/track/7K3M-9QXP")
    typo = await desk.http.get("/reporting/v1/track/not-a-code")
    assert theirs.status_code == unknown.status_code == typo.status_code == 404
    assert without_instance(theirs) == without_instance(unknown) == without_instance(typo)


def without_instance(answer: httpx.Response) -> dict[str, Any]:
    return {key: value for key, value in answer.json().items() if key != "instance"}


async def test_the_worklist_puts_overdue_first_and_needs_the_role(desk: Desk) -> None:
    late, fresh = complaint_received(received_at=NOW - timedelta(days=40)), complaint_received()
    for case in (late, fresh):
        opened = case_opened(case)
        due = case.data.model_dump()["received_at"] + timedelta(minutes=30)
        opened = seal(
            opened.data.model_copy(
                update={"step_due_at": due, "deadline_at": due + timedelta(days=20)}
            ),
            subject=case.subject,
            version=1,
            time=opened.time,
            agency=case.agency,
        )
        await desk.bus.publish(case, opened)

    async def listed() -> list[dict[str, Any]] | None:
        answer = await desk.http.get(
            "/reporting/v1/worklist?role=tim_pengaduan", headers=desk.headers(Role.TIM_PENGADUAN)
        )
        items: list[dict[str, Any]] = answer.json()
        return items if len(items) == 2 else None

    items = await eventually(listed, within=10)
    assert items is not None
    assert items[0]["tracking_code"] == late.data.model_dump()["tracking_code"]
    assert items[0]["overdue"] is True
    assert items[0]["working_minutes_left"] < 0 < items[1]["working_minutes_left"] + 1
    wrong = await desk.http.get(
        "/reporting/v1/worklist?role=kabid", headers=desk.headers(Role.TIM_PENGADUAN)
    )
    assert wrong.status_code == 403
    assert (await desk.http.get("/reporting/v1/worklist?role=kabid")).status_code == 401


async def test_exports_of_a_rekap_open_as_csv_and_xlsx(desk: Desk) -> None:
    import io

    from openpyxl import load_workbook

    for case in (complaint_received(), complaint_received()):
        await desk.bus.publish(case)

    async def counted() -> bool:
        return bool((await desk.http.get("/reporting/v1/rekap")).json()["total"] == 2)

    assert await eventually(counted, within=10)
    csv = await desk.http.get("/reporting/v1/rekap.csv?group_by=channel")
    assert csv.text.lstrip("\ufeff").splitlines() == ["Kanal,Jumlah", "Situs web,2"]
    xlsx = await desk.http.get("/reporting/v1/rekap.xlsx?group_by=month,channel,status")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert values[0] == ["Bulan", "Kanal", "Status", "Jumlah"]
    assert values[1][1:] == ["Situs web", "Diterima", 2]


async def test_a_parameter_given_twice_is_refused_not_half_read(desk: Desk) -> None:
    twice = await desk.http.get("/reporting/v1/rekap?group_by=month&group_by=channel")
    assert twice.status_code == 422
    problem = twice.json()
    assert problem["errors"] == [
        {
            "field": "group_by",
            "code": "repeated",
            "message": "Parameter ini hanya menerima satu nilai.",
        }
    ]
    assert (await desk.http.get("/reporting/v1/rekap?group_by=month,channel")).status_code == 200
    several = "/reporting/v1/operations/event-types?type=CaseOpened&type=CaseClosed"
    assert (await desk.http.get(several)).status_code == 422  # unknown there: refused as such
