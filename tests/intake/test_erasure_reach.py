"""Erasure in a province: an agency's administrator erases the person's submissions their
agency has now, and learns nothing of what other agencies hold; the province's administrator
erases everywhere; a case moved between agencies (even once erased) belongs to the one that
has it now."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest

from services.intake.inbound import _handle
from services.intake.inbox import Inbox
from shared.events import seal
from shared.events import workflow as wf
from shared.sop import PROVINCE, Role
from shared.tracking_code import new_code
from tests.intake.conftest import Desk
from tests.intake.test_agencies import DINAS_B, register

B = DINAS_B.id
NIK = "3525015508950003"
PHONE = "0812-3456-7890"
NAMED = {"text": "Halte bus rusak sejak bulan lalu.", "consent": True}
NAMED |= {"contact": {"name": "Siti", "phone": PHONE}}
ANONYMOUS = {"text": f"NIK saya {NIK}, izin saya ditolak tanpa alasan.", "anonymous": True}


@pytest.fixture
async def province(desk: Desk) -> Desk:
    """The desk of a deployment that serves the home agency and Dinas B."""
    await register(desk.settings, DINAS_B)
    desk.app.state.inbox.agencies.forget()
    return desk


async def _submit(desk: Desk, form: dict[str, Any], agency: str | None = None) -> str:
    query = f"?agency={agency}" if agency else ""
    answer = await desk.http.post(f"/intake/v1/complaints{query}", json=form)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["tracking_code"])


async def _erase(desk: Desk, headers: dict[str, str], **asked: str) -> httpx.Response:
    return await desk.http.post("/intake/v1/erasures", json=asked, headers=headers)


async def _case_id(desk: Desk, code: str) -> UUID:
    [row] = await desk.fetch(
        "SELECT case_id FROM intake.submission_index WHERE tracking_code = $1", code
    )
    return UUID(str(row["case_id"]))


async def _erased(desk: Desk, code: str) -> bool:
    inbox: Inbox = desk.app.state.inbox
    submission = inbox.submissions.submission(await _case_id(desk, code))
    assert submission is not None
    return submission.erased_at is not None


def _move(desk: Desk, case_id: UUID, to: str, *, version: int = 2) -> None:
    """Workflow's transfer of the case to `to`, as intake's consumer handles it."""
    at = datetime.now(UTC)
    moves: dict[str, Any] = {"step": "identification", "current_step": "identification"}
    transferred = wf.CaseTransferred(
        case_id=case_id,
        at=at,
        from_agency=B,
        to_agency=to,
        step_due_at=at,
        deadline_at=at,
        **moves,
    )
    inbox: Inbox = desk.app.state.inbox
    envelope = seal(transferred, subject=case_id, version=version, time=at, agency=to)
    _handle(inbox, [envelope])


async def test_a_person_named_only_at_another_agency_reads_as_nobody(province: Desk) -> None:
    """The home administrator asking after someone Dinas B alone holds (by a contact field, or
    a NIK typed into an anonymous text) gets the answer of a person never seen."""
    codes = [await _submit(province, form, B) for form in (NAMED, ANONYMOUS)]
    home_admin = province.officer(Role.ADMIN)
    nobody = await _erase(province, home_admin, nik="3525015508950011", phone="081299990000")
    assert nobody.status_code == 200, nobody.text
    for asked in ({"nik": NIK}, {"phone": PHONE}, {"nik": NIK, "phone": PHONE}):
        answer = await _erase(province, home_admin, **asked)
        assert answer.status_code == 200, answer.text
        assert answer.json() == nobody.json() == {"erased": [], "already_erased": []}
    assert not [code for code in codes if await _erased(province, code)]


async def test_another_agencys_tracking_code_is_unknown_to_an_agency_administrator(
    province: Desk,
) -> None:
    """B's codes are public (Open311 lists them): one must not lead the home administrator to
    B's complainant, nor to the home office's cases of the same person."""
    ours, theirs = await _submit(province, NAMED), await _submit(province, NAMED, B)
    home_admin = province.officer(Role.ADMIN)
    unknown = await _erase(province, home_admin, tracking_code=new_code())
    elsewhere = await _erase(province, home_admin, tracking_code=theirs)
    assert unknown.status_code == elsewhere.status_code == 404, elsewhere.text
    assert elsewhere.headers["content-type"] == "application/problem+json"
    assert elsewhere.json() == unknown.json()
    assert not await _erased(province, ours)
    assert not await _erased(province, theirs)
    own = await _erase(province, home_admin, tracking_code=ours)
    assert own.json() == {"erased": [ours], "already_erased": []}
    assert not await _erased(province, theirs)


async def test_the_province_administrator_erases_in_every_agency(province: Desk) -> None:
    ours, theirs = await _submit(province, NAMED), await _submit(province, NAMED, B)
    named_at_b = await _submit(province, ANONYMOUS, B)
    admin = province.officer(Role.ADMIN, agency=PROVINCE)
    answer = await _erase(province, admin, phone=PHONE, nik=NIK)
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()["erased"]) == sorted([ours, theirs, named_at_b])


async def test_a_moved_case_is_erased_by_the_agency_that_has_it_now(province: Desk) -> None:
    code = await _submit(province, NAMED, B)
    await asyncio.to_thread(
        _move, province, await _case_id(province, code), province.settings.agency
    )
    b_admin = province.officer(Role.ADMIN, agency=B)
    left = await _erase(province, b_admin, phone=PHONE)
    assert left.json() == {"erased": [], "already_erased": []}
    assert (await _erase(province, b_admin, tracking_code=code)).status_code == 404
    has = await _erase(province, province.officer(Role.ADMIN), phone=PHONE)
    assert has.json() == {"erased": [code], "already_erased": []}


async def test_an_erased_case_moved_on_belongs_to_the_agency_it_went_to(province: Desk) -> None:
    code = await _submit(province, NAMED, B)
    erased = await _erase(province, province.officer(Role.ADMIN, agency=B), tracking_code=code)
    assert erased.json()["erased"] == [code]
    case_id = await _case_id(province, code)
    await asyncio.to_thread(_move, province, case_id, province.settings.agency)
    inbox: Inbox = province.app.state.inbox
    submission = inbox.submissions.submission(case_id)
    assert submission is not None
    assert inbox.submissions.agency_of(submission) == province.settings.agency
    again = await _erase(province, province.officer(Role.ADMIN), tracking_code=code)
    assert again.json() == {"erased": [], "already_erased": [code]}
    gone = await _erase(province, province.officer(Role.ADMIN, agency=B), tracking_code=code)
    assert gone.status_code == 404
