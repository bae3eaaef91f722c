"""Two officers at once, and replay: state comes from the events alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import Any
from uuid import UUID

import pytest

from services.workflow import cases as cases_module
from services.workflow.case import Case
from services.workflow.cases import open_cases
from shared.auth import Officer
from shared.sealing import ERASED
from shared.sop import Role
from tests.polling import eventually
from tests.workflow.conftest import Desk
from tests.workflow.test_paths import BAP

TIM, KABID, KADIS = Role.TIM_PENGADUAN, Role.KABID, Role.KEPALA_DINAS
DISPOSE = {"to": TIM.value, "instruction": "Tinjau."}


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


async def test_a_case_another_process_moved_on_is_read_again_though_this_one_held_it(
    desk: Desk,
) -> None:
    """A process keeps the cases it read or acted on lately. A read of one reads the events
    stored since; a command naming the version it holds reads nothing, and only its save shows
    whether another process stored an event meanwhile: it is then refused as stale, as it
    would be after a read."""
    case = await desk.open()
    held = await desk.step(case, "identification/escalate", TIM, note="Naik.")
    elsewhere = await asyncio.to_thread(open_cases, desk.cases.settings)

    def note_elsewhere() -> None:
        moved = elsewhere.get_case(case)
        kabid = Officer("kabid-elsewhere", "Kabid", frozenset({KABID}), moved.agency)
        text = elsewhere.seal(case, "Dicatat di proses lain.")
        moved.add_note(text=text, by=kabid, at=datetime.now(UTC))
        elsewhere.store(moved)

    try:
        await asyncio.to_thread(note_elsewhere)
        seen = await desk.view(case)  # the note stored elsewhere is read
        assert seen["version"] == held["version"] + 1
        assert seen["timeline"][-1]["details"]["text"] == "Dicatat di proses lain."
        await asyncio.to_thread(note_elsewhere)
        stale = await desk.act(case, "verification", KABID, version=seen["version"], note="Ya.")
        assert stale.status_code == 409, stale.text
        assert stale.json()["current_version"] == seen["version"] + 1
        assert (await desk.view(case))["version"] == seen["version"] + 1
        await asyncio.to_thread(note_elsewhere)
        # refused at the step it holds, too: the verdict is a read's, the version moved on
        wrong = await desk.act(case, "disposition", KADIS, version=seen["version"] + 1, **DISPOSE)
        assert wrong.status_code == 409, wrong.text
        assert wrong.json()["type"] == "/problems/stale-version"
        assert wrong.json()["current_version"] == seen["version"] + 2
    finally:
        elsewhere.close()
    after = await desk.view(case)
    assert after["version"] == seen["version"] + 2
    assert "ComplaintVerified" not in [entry["event"] for entry in after["timeline"]]
    verified = await desk.act(case, "verification", KABID, version=after["version"], note="Ya.")
    assert verified.status_code == 200, verified.text
    assert verified.json()["version"] == after["version"] + 1


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


def erase_elsewhere(desk: Desk, case_id: UUID) -> None:
    """The case's data erased by another workflow process (its own store and key cache)."""
    elsewhere = open_cases(desk.cases.settings)
    try:
        erased = elsewhere.get_case(case_id)
        assert erased.erase_data(at=datetime.now(UTC))
        elsewhere.store(erased, erased=[case_id])
    finally:
        elsewhere.close()


async def test_a_case_erased_by_another_process_is_read_as_erased_here(desk: Desk) -> None:
    """Each process keeps the cases' keys it used. An erasure heard by another process (it
    shreds the key) is read from the case's events here: its texts are never opened again
    with the key this process kept."""
    case = await desk.open()
    attached = await desk.http.post(
        f"/workflow/v1/cases/{case}/attachments",
        files={"file": ("ktp.pdf", b"%PDF-1.4\n% ktp\n", "application/pdf")},
        headers=desk.headers(TIM),
    )
    file = attached.json()["timeline"][-1]["details"]["attachment_id"]
    download = f"/workflow/v1/cases/{case}/attachments/{file}"
    assert (await desk.http.get(download, headers=desk.headers(TIM))).status_code == 200
    await desk.step(case, "notes", KABID, text="Pemohon Budi, 0812-3456-7890.")
    assert (await desk.view(case, KABID))["timeline"][-1]["details"]["text"].startswith("Pemohon")
    await asyncio.to_thread(erase_elsewhere, desk, case)
    assert (await desk.http.get(download, headers=desk.headers(TIM))).status_code == 404
    view = await desk.view(case, KABID)
    noted = [entry for entry in view["timeline"] if entry["event"] == "NoteAdded"]
    assert [entry["details"]["text"] for entry in noted] == [ERASED]
    noting = await desk.act(case, "notes", KABID, text="Catatan sesudah penghapusan.")
    assert noting.status_code == 200, noting.text
    assert noting.json()["timeline"][-1]["details"]["text"] == ERASED


async def test_a_file_uploaded_while_another_process_erases_the_case_is_refused(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload reads the case's key, stores the file sealed with it, then records it on the
    case. An erasure heard by another process in between shreds that key: the file could
    never be opened again, so it is not recorded on the case, and the officer hears why."""
    case = await desk.open()
    put = desk.cases.blobs.put

    async def erased_meanwhile(blobs: Any) -> None:  # after the key was read, before the save
        await put(blobs)
        await asyncio.to_thread(erase_elsewhere, desk, case)

    monkeypatch.setattr(desk.cases.blobs, "put", erased_meanwhile)
    upload = await desk.attach(case, b"%PDF-1.4\n% ktp\n", "ktp.pdf")
    assert upload.status_code == 409, upload.text
    assert upload.json()["type"] == "/problems/case-erased"
    history = await asyncio.to_thread(desk.cases.history, case)
    assert [type(event).__name__ for event in history][-1] == "CaseDataErased"


async def test_a_key_kept_here_is_read_again_after_an_erasure_elsewhere(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay and the feeds open an event's text without reading its case: the key this
    process kept is read again after `KEY_FRESH_SECONDS`, so an erasure heard by another
    process stops them too."""
    monkeypatch.setattr(cases_module, "KEY_FRESH_SECONDS", 0.5, raising=False)
    case = await desk.open()
    await desk.step(case, "notes", KABID, text="Pemohon Budi.")
    last: Any = (await asyncio.to_thread(desk.cases.history, case))[-1]
    sealed = last.text
    assert desk.cases.unseal(case, sealed) == "Pemohon Budi."  # the key kept here
    await asyncio.to_thread(erase_elsewhere, desk, case)

    async def opened_no_more() -> bool:
        return bool(await asyncio.to_thread(desk.cases.unseal, case, sealed) == ERASED)

    assert await eventually(opened_no_more, within=5, interval=0.1)
