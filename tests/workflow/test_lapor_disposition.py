"""Workflow takes SP4N-LAPOR!'s disposisi (intake's DispositionReceived): the case moves by
the MOVES rule, as the LAPOR! system; once per disposisi; a closed case only gets a note."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

from services.workflow.case.aggregate import LAPOR_ACTOR
from services.workflow.inbound import consumer
from shared.events import DispositionReceived, Envelope, PersonalDataErased, seal
from shared.sop import MOVES, PROVINCE, Role
from tests.workflow.conftest import Desk
from tests.workflow.test_agencies import A, B, bearer, get, open_in, post, province

__all__ = ["province"]  # the fixture, used by name


def disposed(case_id: UUID, to: str, version: int, from_agency: str = A) -> Envelope:
    """Intake's event: LAPOR! disposed the case to `to` (the submission's `version`)."""
    at = datetime.now(UTC)
    data = DispositionReceived(
        case_id=case_id, at=at, from_agency=from_agency, to_agency=to, lapor_ref="LAP-77"
    )
    return seal(data, subject=case_id, version=version, time=at, agency=A)


async def events_of(desk: Desk, case_id: UUID) -> list[str]:
    history = await asyncio.to_thread(desk.cases.history, case_id)
    return [type(event).__name__ for event in history]


async def test_lapor_disposisi_moves_the_case_once(province: Desk) -> None:
    desk = province
    case_id = await open_in(desk, A)
    handle = consumer(desk.cases).handle
    to_b = disposed(case_id, B, version=2)
    await handle([to_b])
    await handle([to_b])  # redelivered: nothing more
    team_a, team_b = bearer(desk, A, Role.TIM_PENGADUAN), bearer(desk, B, Role.TIM_PENGADUAN)
    assert (await get(desk, case_id, team_a)).status_code == 404
    view = (await get(desk, case_id, team_b)).json()
    assert (view["agency"], view["current_step"]) == (B, "identification")
    [opened, moved] = view["timeline"]
    assert (opened["event"], moved["event"]) == ("CaseOpened", "CaseTransferred")
    assert moved["by"] == LAPOR_ACTOR
    assert moved["details"]["from_agency"] == A
    assert "SP4N-LAPOR!" in moved["details"]["reason"]
    assert moved["details"]["deadline_restarted"] is MOVES["transfer"].restarts_deadline

    # Withdrawn to the coordinator: the `decline` rule (the clock keeps running).
    await handle([disposed(case_id, PROVINCE, version=3, from_agency=B)])
    await handle([to_b])  # the earlier disposisi redelivered late: heard already
    case = await asyncio.to_thread(desk.cases.get_case, case_id)
    assert case.agency == PROVINCE
    assert await events_of(desk, case_id) == ["CaseOpened", "CaseTransferred", "CaseDeclined"]
    assert not MOVES["decline"].restarts_deadline
    assert case.deadline_at == moved_deadline(view)


def moved_deadline(view: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(view["deadline_at"]))


async def test_a_disposisi_to_the_agency_that_has_the_case_changes_nothing(
    province: Desk,
) -> None:
    case_id = await open_in(province, A)
    await consumer(province.cases).handle([disposed(case_id, A, version=2)])
    assert await events_of(province, case_id) == ["CaseOpened"]


async def test_a_closed_case_disposed_by_lapor_stays_and_gets_a_note(province: Desk) -> None:
    desk = province
    case_id = await open_in(desk, A)
    team_a = bearer(desk, A, Role.TIM_PENGADUAN)
    answer = {"answer": "Sudah kami perbaiki."}
    resolved = await post(desk, case_id, "identification/resolve", team_a, **answer)
    assert resolved.status_code == 200, resolved.text
    to_b = disposed(case_id, B, version=2)
    await consumer(desk.cases).handle([to_b, to_b])
    view = (await get(desk, case_id, team_a)).json()
    assert view["agency"] == A
    note = view["timeline"][-1]
    assert (note["event"], note["by"]) == ("NoteAdded", LAPOR_ACTOR)
    assert "setelah kasus ini ditutup" in note["details"]["text"]
    assert [e["event"] for e in view["timeline"]].count("NoteAdded") == 1


async def test_a_case_whose_data_was_erased_still_moves(province: Desk) -> None:
    case_id = await open_in(province, A)
    at = datetime.now(UTC)
    erased = PersonalDataErased(case_id=case_id, erased_at=at)
    handle = consumer(province.cases).handle
    await handle([seal(erased, subject=case_id, version=2, time=at, agency=A)])
    await handle([disposed(case_id, B, version=3)])
    case = await asyncio.to_thread(province.cases.get_case, case_id)
    assert case.agency == B
    assert await events_of(province, case_id) == ["CaseOpened", "CaseDataErased", "CaseTransferred"]
