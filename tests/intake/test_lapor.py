"""SP4N-LAPOR!: disposed complaints in (the assumed contract), follow-ups out (stand-in)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.events import seal
from shared.events import workflow as wf
from shared.sop import Role
from tests.bus import bus
from tests.intake.conftest import LAPOR_INBOUND, Desk
from tests.polling import eventually

ENDPOINT = "/intake/v1/lapor/complaints"
AUTH = {"Authorization": f"Bearer {LAPOR_INBOUND}"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def disposed(tracking_id: str = "LAP-2026-0001", **fields: Any) -> dict[str, Any]:
    return {
        "tracking_id": tracking_id,
        "title": "Izin bangunan tidak kunjung terbit",
        "content": "Sudah dua bulan sejak berkas lengkap, PBG belum juga terbit.",
        "anonim": False,
        "rahasia": False,
        "reporter": {"name": "Budi Santoso", "phone": "081298765432", "email": "budi@example.id"},
        **fields,
    }


async def test_a_disposed_complaint_is_received_and_lapor_hears_our_code(desk: Desk) -> None:
    answer = await desk.http.post(ENDPOINT, json=disposed(), headers=AUTH)
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]

    async def followed_up() -> list[dict[str, Any]]:
        return desk.graph.sent_to("/lapor/complaints/LAP-2026-0001/follow-ups")

    [follow_up] = await eventually(followed_up, within=5)
    assert follow_up["reference"] == code
    assert follow_up["status"] == "proses"
    assert code in follow_up["message"]
    [(_, _, headers)] = desk.graph.requests
    assert headers["Authorization"] == "Bearer token-untuk-lapor"


async def test_the_same_complaint_three_times_returns_the_original_code(desk: Desk) -> None:
    answers = [await desk.http.post(ENDPOINT, json=disposed(), headers=AUTH) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert len({a.json()["tracking_code"] for a in answers}) == 1
    assert await desk.events() == ["ComplaintReceived"]


async def test_anonim_stores_no_identity_and_rahasia_is_confidential(desk: Desk) -> None:
    answer = await desk.http.post(
        ENDPOINT, json=disposed("LAP-2", anonim=True, rahasia=True), headers=AUTH
    )
    assert answer.status_code == 201
    assert await desk.fetch("SELECT * FROM intake.identities") == []
    rows = await desk.fetch("SELECT state FROM intake.submissions_events")
    assert b'"anonymous":true' in bytes(rows[0]["state"])
    assert b'"confidential":true' in bytes(rows[0]["state"])


async def test_attachments_are_kept_sealed(desk: Desk) -> None:
    files = [
        {
            "filename": "bukti.png",
            "content_type": "image/png",
            "content_base64": base64.b64encode(PNG).decode(),
        }
    ]
    answer = await desk.http.post(ENDPOINT, json=disposed("LAP-3", attachments=files), headers=AUTH)
    assert answer.status_code == 201, answer.text
    [row] = await desk.fetch(
        "SELECT b.content FROM intake.attachments a JOIN intake.blobs b ON b.hash = a.blob"
    )
    assert PNG not in bytes(row["content"])


BAD = {
    "no token": ({}, disposed(), 401),
    "wrong token": ({"Authorization": "Bearer tebakan"}, disposed(), 401),
    "missing content": (AUTH, {"tracking_id": "LAP-9"}, 422),
    "bad tracking id": (AUTH, disposed("../../etc"), 422),
    "disallowed attachment": (
        AUTH,
        disposed(
            attachments=[
                {
                    "filename": "a.exe",
                    "content_type": "application/x-msdownload",
                    "content_base64": "TVqQAAMAAAAEAAAA",
                }
            ]
        ),
        415,
    ),
    "pdf that is not one": (
        AUTH,
        disposed(
            attachments=[
                {
                    "filename": "a.pdf",
                    "content_type": "application/pdf",
                    "content_base64": "TVqQAAMAAAAEAAAA",
                }
            ]
        ),
        415,
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
async def test_bad_requests_get_a_4xx_and_store_nothing(desk: Desk, case: str) -> None:
    headers, body, status = BAD[case]
    answer = await desk.http.post(ENDPOINT, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert await desk.events() == []


async def test_an_oversize_attachment_is_a_413(desk: Desk) -> None:
    small = desk.settings.model_copy(update={"max_attachment_bytes": 32})
    desk.app.state.settings = small
    files = [
        {
            "filename": "b.png",
            "content_type": "image/png",
            "content_base64": base64.b64encode(PNG).decode(),
        }
    ]
    answer = await desk.http.post(ENDPOINT, json=disposed("LAP-4", attachments=files), headers=AUTH)
    assert answer.status_code == 413, answer.text
    assert await desk.events() == []


async def test_an_attachment_over_the_body_limit_of_plain_requests_is_received(
    desk: Desk,
) -> None:
    photo = PNG + bytes(300 * 1024)
    assert len(photo) > desk.settings.max_body_bytes
    files = [
        {
            "filename": "foto.png",
            "content_type": "image/png",
            "content_base64": base64.b64encode(photo).decode(),
        }
    ]
    answer = await desk.http.post(ENDPOINT, json=disposed("LAP-5", attachments=files), headers=AUTH)
    assert answer.status_code == 201, answer.text


async def test_repeats_committed_together_with_new_ones_answer_with_their_code(desk: Desk) -> None:
    first = await desk.http.post(ENDPOINT, json=disposed("LAP-G0"), headers=AUTH)
    bodies = [disposed("LAP-G0")] * 3 + [disposed(f"LAP-G{n}") for n in range(1, 5)]
    answers = await asyncio.gather(
        *(desk.http.post(ENDPOINT, json=body, headers=AUTH) for body in bodies)
    )
    assert [a.status_code for a in answers] == [200] * 3 + [201] * 4
    assert {a.json()["tracking_code"] for a in answers[:3]} == {first.json()["tracking_code"]}
    assert await desk.events() == ["ComplaintReceived"] * 5


async def test_a_case_forwarded_to_another_agency_is_told_to_lapor(desk: Desk) -> None:
    """Our disposisi (the coordinator's transfer) reaches LAPOR! as a follow-up."""
    answer = await desk.http.post(ENDPOINT, json=disposed("LAP-2026-0042"), headers=AUTH)
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]
    [row] = await desk.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1", code
    )
    at = datetime.now(UTC)
    moved = wf.CaseTransferred(
        case_id=row["case_id"],
        at=at,
        step="identification",
        by_role=Role.KOORDINATOR,
        from_agency="dpmptsp-gresik",
        to_agency="dinas-pu",
        current_step="identification",
        step_due_at=at,
        deadline_at=at,
        deadline_restarted=True,
    )
    async with bus(desk.settings) as connected:
        await connected.publish(
            seal(moved, subject=row["case_id"], version=2, time=at, agency="dinas-pu")
        )

    async def both() -> list[dict[str, Any]]:
        sent = desk.graph.sent_to("/lapor/complaints/LAP-2026-0042/follow-ups")
        return sent if len(sent) >= 2 else []

    [_, forwarded] = await eventually(both, within=10)
    assert "diteruskan kepada instansi yang berwenang" in forwarded["message"]
    assert (forwarded["status"], forwarded["reference"]) == ("proses", code)


@pytest.mark.parametrize(
    ("created_at", "kept"),
    [
        ("0001-01-01T00:00:00Z", False),  # how Go writes a time never set
        ("0001-01-01T00:00:00-12:00", False),
        ("2999-01-01T00:00:00+07:00", False),
        ("three days ago", None),
        ("", False),  # LAPOR! writes a time it has not as ""
        (1700000000, None),  # a number is no time LAPOR! writes (not seconds since 1970)
        ("1700000000", None),
    ],
)
async def test_a_creation_time_lapor_never_set_is_the_arrival(
    desk: Desk, created_at: str | int, kept: bool | None
) -> None:
    """An unset time (year 1, as Go writes it) or a future one is the moment the report
    arrives, never a case 2,000 years late; one that is no time at all is refused."""
    body = disposed(f"LAP-T-{abs(hash(created_at))}", created_at=created_at)
    answer = await desk.http.post(ENDPOINT, json=body, headers=AUTH)
    if kept is None:
        assert answer.status_code == 422, answer.text
        return
    assert answer.status_code == 201, answer.text
    [row] = await desk.fetch("SELECT state FROM intake.submissions_events")
    received = datetime.fromisoformat(json.loads(bytes(row["state"]))["received_at"]["_data_"])
    assert abs((datetime.now(UTC) - received).total_seconds()) < 60


@pytest.mark.parametrize("days", [7, 60])
async def test_a_creation_time_of_earlier_weeks_is_kept(desk: Desk, days: int) -> None:
    """A report disposed to the office weeks after it was made keeps the day it was made."""
    earlier = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    body = disposed(f"LAP-T-{days}", created_at=earlier.isoformat())
    assert (await desk.http.post(ENDPOINT, json=body, headers=AUTH)).status_code == 201
    [row] = await desk.fetch("SELECT state FROM intake.submissions_events")
    received = datetime.fromisoformat(json.loads(bytes(row["state"]))["received_at"]["_data_"])
    assert received == earlier


async def test_a_time_with_another_offset_is_kept_in_utc(desk: Desk) -> None:
    earlier = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    far_east = earlier.astimezone(timezone(timedelta(hours=14)))
    body = disposed("LAP-TZ", created_at=far_east.isoformat())
    assert (await desk.http.post(ENDPOINT, json=body, headers=AUTH)).status_code == 201
    [row] = await desk.fetch("SELECT state FROM intake.submissions_events")
    stored = json.loads(bytes(row["state"]))["received_at"]["_data_"]
    assert datetime.fromisoformat(stored) == earlier
    assert datetime.fromisoformat(stored).utcoffset() == timedelta(0)


async def test_a_complaint_with_no_visible_words_is_refused(desk: Desk) -> None:
    body = disposed("LAP-EMPTY", title="", content="\u0000\u0001 \u200b  ")
    answer = await desk.http.post(ENDPOINT, json=body, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "content"
    assert await desk.events() == []


async def test_blank_reporter_fields_are_fields_lapor_has_no_value_for(desk: Desk) -> None:
    reporter = {"name": "Budi Santoso", "phone": "", "email": "  "}
    answer = await desk.http.post(ENDPOINT, json=disposed("LAP-B", reporter=reporter), headers=AUTH)
    assert answer.status_code == 201, answer.text
    view = await desk.submission(answer.json()["tracking_code"])
    assert view["contact"]["name"] == "Budi Santoso"
    assert view["contact"].get("phone") is None
    assert view["contact"].get("email") is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"created_at": "28/11/2026"}, "created_at"),
        ({"created_at": "2026-02-30T09:15:00+07:00"}, "created_at"),
        ({"created_at": "2026-W48-5"}, "created_at"),
        ({"instansi": "DPMPTSP-GRESIK"}, "instansi"),
    ],
)
async def test_a_refusal_names_the_field_in_indonesian(
    desk: Desk, fields: dict[str, Any], field: str
) -> None:
    answer = await desk.http.post(ENDPOINT, json=disposed("LAP-E", **fields), headers=AUTH)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert {error["field"] for error in errors} == {field}
    english = ("Input should", "invalid character", "Value error", "String should")
    assert not any(word in error["message"] for error in errors for word in english), errors


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (LAPOR_INBOUND, 401),  # no scheme
        (f"Basic {LAPOR_INBOUND}", 401),
        (f"bearer {LAPOR_INBOUND}", 201),  # the scheme's name is not case-sensitive
        (f"Bearer  {LAPOR_INBOUND} ", 201),
    ],
)
async def test_the_token_is_taken_only_as_a_bearer_token(
    desk: Desk, authorization: str, status: int
) -> None:
    headers = {"Authorization": authorization}
    answer = await desk.http.post(ENDPOINT, json=disposed("LAP-A"), headers=headers)
    assert answer.status_code == status, answer.text
