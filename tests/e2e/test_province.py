"""Acceptance: a province's workflow with the services as processes. A complaint posted to
intake is the home office's case; the provincial coordinator forwards it to another agency, whose
officers then see it and act on it while the home office's no longer see it; the other agency
answers "bukan wewenang" on a case of its own and the coordinator finds it in the province's
queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from services.workflow.issuer import Issuer
from shared.settings import Settings
from shared.sop import PROVINCE, Role
from tests.intake.conftest import signing_key
from tests.polling import eventually
from tests.system import System, running, with_free_ports

FORM = {
    "text": "Jalan di depan pasar rusak berat sejak dua bulan.",
    "category": "perizinan_berusaha",
    "contact": {"name": "Siti Aminah", "phone": "0812-3456-7890", "email": "siti@example.id"},
    "consent": True,
}
B = "dinas-pu"


class Tokens:
    """Officers' tokens, signed with the key every service of the test verifies."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = Issuer(settings, settings.auth_signing_key.get_secret_value())

    def __call__(self, agency: str, role: Role, subject: str = "") -> dict[str, str]:
        token = self.issuer.mint(
            subject=subject or f"{agency}-{role.value}",
            name="Uji",
            roles=[role],
            agency=agency,
            memberships={agency: [role]},
        )
        return {"Authorization": f"Bearer {token}"}


async def test_the_coordinator_moves_a_case_between_agencies(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings).model_copy(
        update={"auth_signing_key": SecretStr(signing_key())}
    )
    home, token = settings.agency, Tokens(settings)
    coordinator = token(PROVINCE, Role.KOORDINATOR, "pengelola-induk")
    async with running(settings, tmp_path) as system, httpx.AsyncClient(timeout=10) as http:
        workflow = f"{system.url('workflow')}/workflow/v1"
        registered = await http.put(
            f"{workflow}/agencies/{B}",
            json={"id": B, "name": "Dinas Pekerjaan Umum"},
            headers=token(PROVINCE, Role.ADMIN, "admin-provinsi"),
        )
        assert registered.status_code == 200, registered.text

        async def submitted() -> str:
            answer = await http.post(f"{system.url('intake')}/intake/v1/complaints", json=FORM)
            assert answer.status_code == 201, answer.text
            code = answer.json()["tracking_code"]

            async def found() -> str | None:
                url = f"{system.url('reporting')}/reporting/v1/cases?code={code}"
                rows = (await http.get(url, headers=token(home, Role.ADMIN))).json()
                return rows[0]["case_id"] if isinstance(rows, list) and rows else None

            case_id = await eventually(found, within=15, interval=0.2)
            assert case_id is not None
            return str(case_id)

        async def view(case_id: str, headers: dict[str, str]) -> httpx.Response:
            return await http.get(f"{workflow}/cases/{case_id}", headers=headers)

        async def opened(case_id: str) -> None:
            """Until workflow has opened the case from intake's event."""

            async def there() -> bool:
                return (await view(case_id, coordinator)).status_code == 200

            assert await eventually(there, within=15, interval=0.2)

        async def act(case_id: str, path: str, headers: dict[str, str], **body: Any) -> Any:
            seen = (await view(case_id, coordinator)).json()
            payload = {"version": seen["version"], **body}
            url = f"{workflow}/cases/{case_id}/{path}"
            return await http.post(url, json=payload, headers=headers)

        case_id = await submitted()
        await opened(case_id)
        team_home, team_b = token(home, Role.TIM_PENGADUAN), token(B, Role.TIM_PENGADUAN)
        assert (await view(case_id, team_home)).status_code == 200
        assert (await view(case_id, team_b)).status_code == 404

        moved = await act(case_id, "transfer", coordinator, to=B, reason="Urusan jalan: Dinas PU.")
        assert moved.status_code == 200, moved.text
        assert moved.json()["agency"] == B
        assert (await view(case_id, team_home)).status_code == 404
        seen = (await view(case_id, team_b)).json()
        assert [entry["event"] for entry in seen["timeline"]] == ["CaseOpened", "CaseTransferred"]
        assert (await act(case_id, "identification/escalate", team_b, note="Naik.")).is_success

        other = await submitted()
        await opened(other)
        declined = await act(other, "decline", team_home, reason="Bukan wewenang kami.")
        assert declined.status_code == 200, declined.text
        assert (await view(other, team_home)).status_code == 404
        queued = await view(other, coordinator)
        assert queued.json()["agency"] == PROVINCE
        assert queued.json()["timeline"][-1]["event"] == "CaseDeclined"

        await reads_follow_the_moves(http, system, token, case_id, other, coordinator)


async def reads_follow_the_moves(
    http: httpx.AsyncClient,
    system: System,
    token: Tokens,
    case_id: str,
    other: str,
    coordinator: dict[str, str],
) -> None:
    """Reporting and intake let B's officers in too, and follow the moves: B's team finds the
    forwarded case in the read model and intake, the home team no longer does; the declined
    case has left the home office for the coordinator."""
    home = system.settings.agency
    team_home, team_b = token(home, Role.TIM_PENGADUAN), token(B, Role.TIM_PENGADUAN)
    reporting = f"{system.url('reporting')}/reporting/v1"

    async def listed(headers: dict[str, str]) -> list[str]:
        answer = await http.get(f"{reporting}/cases", headers=headers)
        assert answer.status_code == 200, answer.text
        return [row["case_id"] for row in answer.json()]

    async def moved_in_read_model() -> bool:
        return case_id in await listed(team_b) and case_id not in await listed(team_home)

    assert await eventually(moved_in_read_model, within=15, interval=0.2)
    submission = f"{system.url('intake')}/intake/v1/submissions/{case_id}"

    async def intake_follows() -> bool:
        theirs = await http.get(submission, headers=token(B, Role.ADMIN))
        ours = await http.get(submission, headers=token(home, Role.ADMIN))
        return (theirs.status_code, ours.status_code) == (200, 404)

    assert await eventually(intake_follows, within=15, interval=0.2)
    declined_view = f"{system.url('intake')}/intake/v1/submissions/{other}"

    async def declined_left_home() -> bool:
        ours = await http.get(declined_view, headers=token(home, Role.ADMIN))
        return ours.status_code == 404

    assert await eventually(declined_left_home, within=15, interval=0.2)
    assert (await http.get(declined_view, headers=coordinator)).status_code == 200
