"""Excerpts for the worklist: what the complainant wrote, only to roles that may read it, with
personal data masked for roles that may not know who wrote it."""

from __future__ import annotations

from typing import Any

from shared.sop import Role
from tests.intake.conftest import Desk
from tests.intake.meta import wa_edit, wa_messages, wa_text

PHONE = "0813-1234-5678"
TEXT = f"Izin reklame belum terbit setelah tiga minggu. Hubungi saya di {PHONE}. " + "Mohon. " * 40


async def submitted(desk: Desk, **flags: Any) -> str:
    form = {"text": TEXT, "contact": {"name": "Siti", "phone": PHONE}, "consent": True} | flags
    answer = await desk.http.post("/intake/v1/complaints", json=form)
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]
    [row] = await desk.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1", code
    )
    return str(row["case_id"])


async def excerpts(desk: Desk, role: Role, *case_ids: str) -> dict[str, str]:
    answer = await desk.http.post(
        "/intake/v1/submissions/excerpts",
        json={"case_ids": list(case_ids)},
        headers=desk.officer(role),
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, str] = answer.json()
    return found


async def test_an_excerpt_is_short_and_masked_without_identity_rights(desk: Desk) -> None:
    normal = await submitted(desk)
    team = await excerpts(desk, Role.TIM_PENGADUAN, normal)
    assert PHONE in team[normal]
    assert len(team[normal]) <= 161
    assert team[normal].endswith("…")
    kabid = await excerpts(desk, Role.KABID, normal)
    assert "[telepon]" in kabid[normal]
    assert PHONE not in kabid[normal]


async def test_a_role_that_may_not_read_the_text_gets_no_excerpt(desk: Desk) -> None:
    normal, confidential = await submitted(desk), await submitted(desk, confidential=True)
    assert await excerpts(desk, Role.ANALIS, normal, confidential) == {}
    assert set(await excerpts(desk, Role.KABID, normal, confidential)) == {normal}
    assert set(await excerpts(desk, Role.TIM_PENGADUAN, normal, confidential)) == {
        normal,
        confidential,
    }


async def test_excerpts_need_a_token_and_a_bounded_list(desk: Desk) -> None:
    path = "/intake/v1/submissions/excerpts"
    assert (await desk.http.post(path, json={"case_ids": []})).status_code == 401
    empty = await desk.http.post(path, json={"case_ids": []}, headers=desk.officer(Role.KABID))
    assert empty.status_code == 422


async def test_an_edited_first_message_shows_its_words_now(desk: Desk) -> None:
    await desk.whatsapp(wa_text("Izin saya belum terbit.", "wamid.X1"))
    await desk.whatsapp(wa_messages(wa_edit("wamid.X2", "wamid.X1", "Izin reklame ditolak.")))
    [row] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    case_id = str(row["case_id"])
    assert await excerpts(desk, Role.TIM_PENGADUAN, case_id) == {case_id: "Izin reklame ditolak."}
