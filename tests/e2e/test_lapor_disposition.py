"""Acceptance: SP4N-LAPOR! moves a complaint between the province's agencies, with the services
as processes. LAPOR! disposes a complaint to the home office, then to Dinas PU: the same case
(id and tracking code) is Dinas PU's in workflow, the home office's officers no longer see it,
its timeline shows the move by SP4N-LAPOR!; a repeat changes nothing; an agency the province
does not serve is a 422."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from shared.settings import Settings
from shared.sop import PROVINCE, Role
from tests.e2e.test_province import Tokens
from tests.intake.conftest import signing_key
from tests.polling import eventually
from tests.system import running, with_free_ports

B = "dinas-pu"
INBOUND = "token-dari-lapor"
REPORT = {
    "tracking_id": "LAP-2026-0500",
    "content": "Jalan di depan pasar rusak berat sejak dua bulan.",
    "reporter": {"name": "Budi Santoso", "email": "budi@example.id"},
}


async def test_lapor_disposes_a_complaint_to_another_agency(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings).model_copy(
        update={
            "auth_signing_key": SecretStr(signing_key()),
            "lapor_inbound_token": SecretStr(INBOUND),
        }
    )
    home, token = settings.agency, Tokens(settings)
    coordinator = token(PROVINCE, Role.KOORDINATOR, "pengelola-induk")
    team_home, team_b = token(home, Role.TIM_PENGADUAN), token(B, Role.TIM_PENGADUAN)
    async with running(settings, tmp_path) as system, httpx.AsyncClient(timeout=10) as http:
        workflow = f"{system.url('workflow')}/workflow/v1"
        registered = await http.put(
            f"{workflow}/agencies/{B}",
            json={"id": B, "name": "Dinas Pekerjaan Umum"},
            headers=token(PROVINCE, Role.ADMIN, "admin-provinsi"),
        )
        assert registered.status_code == 200, registered.text
        lapor = f"{system.url('intake')}/intake/v1/lapor/complaints"
        auth = {"Authorization": f"Bearer {INBOUND}"}

        async def push(**fields: Any) -> httpx.Response:
            return await http.post(lapor, json=REPORT | fields, headers=auth)

        received = await push(instansi=home)
        assert received.status_code == 201, received.text
        code = received.json()["tracking_code"]

        async def case_of(headers: dict[str, str]) -> dict[str, Any] | None:
            url = f"{system.url('reporting')}/reporting/v1/cases?code={code}"
            rows = (await http.get(url, headers=headers)).json()
            if not (isinstance(rows, list) and rows):
                return None
            seen = await http.get(f"{workflow}/cases/{rows[0]['case_id']}", headers=headers)
            return seen.json() if seen.status_code == 200 else None

        opened = await eventually(lambda: case_of(team_home), within=15, interval=0.2)
        assert opened is not None
        assert opened["agency"] == home

        async def disposed_to_b() -> httpx.Response | None:
            answer = await push(instansi=B)  # 422 until intake's agency cache reads B
            return answer if answer.status_code != 422 else None

        moved = await eventually(disposed_to_b, within=15, interval=0.5)
        assert moved is not None
        assert moved.status_code == 200, moved.text
        assert moved.json()["tracking_code"] == code
        assert (await push(instansi=B)).status_code == 200  # a repeat: nothing new

        case_id = opened["case_id"]
        view = f"{workflow}/cases/{case_id}"

        async def theirs() -> dict[str, Any] | None:
            seen = await http.get(view, headers=team_b)
            return seen.json() if seen.status_code == 200 else None

        in_b = await eventually(theirs, within=15, interval=0.2)
        assert in_b is not None
        assert (in_b["case_id"], in_b["tracking_code"], in_b["agency"]) == (case_id, code, B)
        assert (await http.get(view, headers=team_home)).status_code == 404
        events = [entry["event"] for entry in in_b["timeline"]]
        assert events == ["CaseOpened", "CaseTransferred"]
        assert in_b["timeline"][-1]["by_name"] == "SP4N-LAPOR!"

        unknown = await push(instansi="dinas-lain")
        assert unknown.status_code == 422, unknown.text
        assert unknown.headers["content-type"].startswith("application/problem+json")

        # Withdrawn to the coordinator: queued there; the repeat above moved nothing (its
        # events come in order, so the timeline would show it before this one).
        assert (await push(instansi=PROVINCE)).status_code == 200

        async def queued() -> dict[str, Any] | None:
            seen = (await http.get(view, headers=coordinator)).json()
            return seen if seen["agency"] == PROVINCE else None

        withdrawn = await eventually(queued, within=15, interval=0.2)
        assert withdrawn is not None
        events = [entry["event"] for entry in withdrawn["timeline"]]
        assert events == ["CaseOpened", "CaseTransferred", "CaseDeclined"]
