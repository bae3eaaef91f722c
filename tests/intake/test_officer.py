"""Officer-recorded channels: letters, phone calls, the counter, the suggestion box, SMS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shared.feed import service_credential
from shared.receipts import opens, receipt_key
from shared.sop import Role
from tests.intake.conftest import Desk
from tests.intake.meta import wa_message, wa_messages

ENDPOINT = "/intake/v1/officer/submissions"


def recorded(channel: str = "letter", **fields: Any) -> dict[str, Any]:
    return {
        "channel": channel,
        "text": "Surat keberatan atas penolakan izin reklame di Jl. Veteran.",
        "contact": {"name": "Hendra Wijaya", "address": "Jl. Veteran 3, Gresik"},
        **fields,
    }


@pytest.mark.parametrize("channel", ["letter", "phone", "counter", "suggestion_box", "sms"])
async def test_an_officer_records_each_channel(desk: Desk, channel: str) -> None:
    answer = await desk.http.post(
        ENDPOINT, json=recorded(channel), headers=desk.officer(Role.PETUGAS)
    )
    assert answer.status_code == 201, answer.text
    [row] = await desk.fetch("SELECT state FROM intake.submissions_events")
    assert f'"channel":"{channel}"'.encode() in bytes(row["state"])


async def test_the_printed_receipt_carries_the_secret_and_the_tracking_page(desk: Desk) -> None:
    answer = await desk.http.post(ENDPOINT, json=recorded(), headers=desk.officer(Role.PETUGAS))
    receipt = answer.json()
    code, secret = receipt["tracking_code"], receipt["receipt_secret"]
    assert opens(await _key(desk), code, secret)
    public = desk.settings.public_url.rstrip("/")
    assert receipt["track_url"] == f"{public}/lacak?kode={code}#kunci={secret}"
    assert "/reporting/" not in receipt["track_url"]  # never the raw JSON API


async def _key(desk: Desk) -> bytes:
    conn = await asyncpg.connect(desk.settings.postgres_dsn())
    try:
        return receipt_key(await service_credential(desk.settings, conn))
    finally:
        await conn.close()


async def test_back_dating_is_allowed_within_the_limit(desk: Desk) -> None:
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    answer = await desk.http.post(
        ENDPOINT, json=recorded(received_at=three_days_ago), headers=desk.officer(Role.PETUGAS)
    )
    assert answer.status_code == 201, answer.text


WHEN = {
    "in the future": timedelta(hours=1),
    "too long ago": -timedelta(days=31),
}


@pytest.mark.parametrize("case", WHEN, ids=list(WHEN))
async def test_received_at_out_of_bounds_is_a_422(desk: Desk, case: str) -> None:
    at = (datetime.now(UTC) + WHEN[case]).isoformat()
    answer = await desk.http.post(
        ENDPOINT, json=recorded(received_at=at), headers=desk.officer(Role.PETUGAS)
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "received_at"
    assert await desk.events() == []


async def test_a_letter_number_makes_a_repeat_the_same_submission(desk: Desk) -> None:
    body = recorded(reference="B/123/435.7/2026")
    headers = desk.officer(Role.PETUGAS)
    answers = [await desk.http.post(ENDPOINT, json=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert len({a.json()["tracking_code"] for a in answers}) == 1


ACCESS = {
    "no token": (None, 401),
    "analyst": (Role.ANALIS, 403),
    "kabid": (Role.KABID, 403),
}


@pytest.mark.parametrize("case", ACCESS, ids=list(ACCESS))
async def test_only_front_desk_roles_record(desk: Desk, case: str) -> None:
    role, status = ACCESS[case]
    headers = desk.officer(role) if role else {}
    answer = await desk.http.post(ENDPOINT, json=recorded(), headers=headers)
    assert answer.status_code == status
    assert await desk.events() == []


async def test_identity_is_read_by_role(desk: Desk) -> None:
    answer = await desk.http.post(ENDPOINT, json=recorded(), headers=desk.officer(Role.PETUGAS))
    [row] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    path = f"/intake/v1/submissions/{row['case_id']}"
    team = (await desk.http.get(path, headers=desk.officer(Role.TIM_PENGADUAN))).json()
    kabid = (await desk.http.get(path, headers=desk.officer(Role.KABID))).json()
    analyst = await desk.http.get(path, headers=desk.officer(Role.ANALIS))
    assert answer.status_code == 201
    assert team["contact"]["name"] == "Hendra Wijaya"
    assert kabid["contact"] == "disembunyikan"
    assert kabid["text"].startswith("Surat keberatan")
    assert analyst.status_code == 403


NIK, PHONE, WA_ID = "3525011201850003", "081234567891", "6281234567891"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


async def test_file_names_and_structured_answers_are_read_as_the_text_is(desk: Desk) -> None:
    """A file name or a shared contact card is the complainant's words too: a role without
    the identity reads its personal data masked, as in the text."""
    named = f"KTP Budi {NIK} {PHONE}.png"
    form = {"text": "Izin usaha saya belum selesai, berikut KTP saya.", "consent": True}
    answer = await desk.http.post(
        "/intake/v1/forms/complaints",
        data={"form": json.dumps(form)},
        files=[("files", (named, PNG, "image/png"))],
    )
    assert answer.status_code == 201, answer.text
    card = [{"name": {"formatted_name": "Budi"}, "phones": [{"phone": PHONE, "wa_id": WA_ID}]}]
    shared = await desk.whatsapp(wa_messages(wa_message("wamid.K1", "contacts", card)))
    assert shared.status_code == 200, shared.text
    for row in await desk.fetch("SELECT case_id FROM intake.submission_index"):
        path = f"/intake/v1/submissions/{row['case_id']}"
        team = await desk.http.get(path, headers=desk.officer(Role.TIM_PENGADUAN))
        kabid = await desk.http.get(path, headers=desk.officer(Role.KABID))
        assert team.status_code == kabid.status_code == 200, kabid.text
        assert NIK in team.text or PHONE in team.text  # the identity reads it in clear
        assert NIK not in kabid.text, kabid.text
        assert PHONE not in kabid.text, kabid.text
        assert WA_ID not in kabid.text, kabid.text
        assert [a["id"] for a in kabid.json()["attachments"]] == [
            a["id"] for a in team.json()["attachments"]
        ]
