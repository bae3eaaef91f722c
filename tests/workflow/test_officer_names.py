"""The timeline names officers: by the name they acted under, or, for an event recorded before
names were, by their account's name; never by an id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from services.workflow import accounts
from shared.sop import Role
from tests.workflow.conftest import Desk


async def test_the_name_an_officer_acted_under_is_on_the_event(desk: Desk) -> None:
    case_id = await desk.open()
    token = desk.issuer.mint(subject="rina", name="Rina Wulandari", roles=[Role.TIM_PENGADUAN])
    version = (await desk.view(case_id))["version"]
    answer = await desk.http.post(
        f"/workflow/v1/cases/{case_id}/identification/escalate",
        json={"version": version, "note": "Perlu keputusan pimpinan."},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    [entry] = [e for e in answer.json()["timeline"] if e["event"] == "Escalated"]
    assert (entry["by"], entry["by_name"]) == ("rina", "Rina Wulandari")
    [stored] = [e for e in desk.cases.history(case_id) if type(e).__name__ == "Escalated"]
    assert stored.by_name == "Rina Wulandari"  # type: ignore[attr-defined]


async def test_an_event_from_before_names_is_named_by_the_account(desk: Desk) -> None:
    settings = desk.cases.settings
    await accounts.ensure_table(settings)
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        await accounts.create(
            conn,
            settings,
            username="kepala.tu",
            name="Kepala TU",
            roles=[Role.TIM_PENGADUAN],
            password="Sandi-Panjang-Sekali-1",
        )
    finally:
        await conn.close()
    case_id = await desk.open()

    def recorded_before_names() -> None:
        case = desk.cases.get_case(case_id)
        for by in ("kepala.tu", "tim_pengaduan-21b5da2a742b"):
            case.trigger_event(
                case.NoteAdded,
                step=case.current_step,
                by=by,
                by_name=None,
                role="tim_pengaduan",
                at=datetime.now(UTC),
                text=desk.cases.seal(case_id, "Catatan lama."),
            )
        desk.cases.store(case)

    await asyncio.to_thread(recorded_before_names)
    notes = [e for e in (await desk.view(case_id))["timeline"] if e["event"] == "NoteAdded"]
    assert [note["by_name"] for note in notes] == ["Kepala TU", None]
