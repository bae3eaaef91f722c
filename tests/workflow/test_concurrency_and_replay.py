"""Two officers at once, and replay: state comes from the events alone."""

from __future__ import annotations

import asyncio
from datetime import time
from typing import Any

from services.workflow.case import Case
from services.workflow.cases import open_cases
from shared.sop import Role
from tests.workflow.conftest import Desk
from tests.workflow.test_paths import BAP

TIM, KABID, KADIS = Role.TIM_PENGADUAN, Role.KABID, Role.KEPALA_DINAS


async def test_two_officers_on_the_same_version_one_wins_one_gets_409(desk: Desk) -> None:
    case = await desk.open()
    version = (await desk.view(case))["version"]
    answers = await asyncio.gather(
        desk.act(case, "identification/escalate", TIM, version=version, note="Naik."),
        desk.act(case, "identification/resolve", TIM, version=version, answer="Selesai."),
    )
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    loser = next(answer for answer in answers if answer.status_code == 409)
    assert loser.json()["type"] in ("/problems/stale-version", "/problems/step-out-of-order")
    assert (await desk.view(case))["version"] == version + 1


async def test_commands_saved_together_each_keep_their_own_outcome(desk: Desk) -> None:
    """Commands arriving together are saved in shared transactions (services/workflow/
    commits.py): a race on one case among them costs only the loser its save."""
    cases = [await desk.open() for _ in range(12)]
    raced = cases[0]
    answers = await asyncio.gather(
        *(
            desk.act(case, "identification/escalate", TIM, version=1, note="Naik.")
            for case in cases
        ),
        desk.act(raced, "identification/resolve", TIM, version=1, answer="Selesai."),
    )
    assert [answer.status_code for answer in answers[1:12]] == [200] * 11
    assert sorted([answers[0].status_code, answers[12].status_code]) == [200, 409]
    for case, answer in zip(cases[1:], answers[1:12], strict=True):
        assert answer.json() == await desk.view(case)
        assert answer.json()["timeline"][-1]["event"] == "Escalated"
    assert (await desk.view(raced))["version"] == 2


async def test_a_stale_version_is_refused_with_the_current_one(desk: Desk) -> None:
    case = await desk.open()
    await desk.step(case, "notes", KABID, text="Catatan.")
    stale = await desk.act(case, "identification/escalate", TIM, version=1, note="Naik.")
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2


async def test_replaying_the_events_rebuilds_exactly_the_state(desk: Desk) -> None:
    case = await desk.open()
    steps: list[tuple[str, Role, dict[str, Any]]] = [
        ("information-request", TIM, {"reason": "Nomor berkas?"}),
        ("information-received", TIM, {"summary": "4471."}),
        ("identification/escalate", TIM, {"note": "Naik."}),
        ("verification", KABID, {"note": "Lengkap."}),
        ("disposition", KADIS, {"instruction": "Tinjau."}),
        ("investigation", TIM, {"summary": "Ditinjau.", "related_agencies": ["Dinas PU"]}),
        ("bap", TIM, BAP),
    ]
    for path, role, body in steps:
        await desk.step(case, path, role, **body)
    live = await asyncio.to_thread(desk.cases.get_case, case)
    # Another process, another calendar (open every day, all day, in UTC) and another day:
    # if any event's apply read a rule or a clock, the state would differ.
    elsewhere = desk.cases.settings.model_copy(
        update={
            "timezone": "UTC",
            "office_hours": {day: (time(0, 0), time(23, 59)) for day in range(7)},
            "deadline_warning_days": (9,),
        }
    )
    other = await asyncio.to_thread(open_cases, elsewhere)
    try:
        replayed: Case = await asyncio.to_thread(other.repository.get, case)
    finally:
        other.close()
    assert vars(replayed) == vars(live)
