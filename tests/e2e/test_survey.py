"""The satisfaction survey: refused before closure, taken once after, counted in the SKM."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from services.workflow.issuer import Issuer
from shared.receipts import SECRET_HEADER
from shared.settings import Settings
from shared.sop import Role
from tests.polling import eventually
from tests.system import running, with_free_ports

SCORES = [4, 3, 4, 4, 3, 4, 4, 3, 4]


async def test_a_survey_after_closure_is_counted_once_in_the_skm(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings)
    async with running(settings, tmp_path) as system, httpx.AsyncClient(timeout=10) as http:
        intake, workflow = system.url("intake"), system.url("workflow")
        form = {"text": "Petugas loket sangat membantu, tetapi antrean lama."}
        answer = await http.post(f"{intake}/intake/v1/complaints", json=form)
        code = answer.json()["tracking_code"]
        own = {SECRET_HEADER: answer.json()["receipt_secret"]}
        profile = {"age_group": "30_39", "sex": "female", "education": "s1"}
        survey = {"tracking_code": code, "scores": SCORES, "profile": profile}
        stranger = await http.post(f"{intake}/intake/v1/surveys", json=survey)
        assert stranger.status_code == 403  # the code alone takes no survey
        early = await http.post(f"{intake}/intake/v1/surveys", json=survey, headers=own)
        assert early.status_code == 409
        assert early.json()["type"] == "/problems/not-closed"

        issuer = await Issuer.load(settings)
        token = issuer.mint(subject="tim-1", name="Rina", roles=[Role.TIM_PENGADUAN])
        headers = {"Authorization": f"Bearer {token}"}
        search = f"{system.url('reporting')}/reporting/v1/track/{code}"

        async def opened() -> bool:
            return bool((await http.get(search)).json().get("status") == "in_progress")

        assert await eventually(opened, within=15)
        found = await http.get(
            f"{system.url('reporting')}/reporting/v1/cases", params={"code": code}, headers=headers
        )
        case_id = found.json()[0]["case_id"]
        view = (await http.get(f"{workflow}/workflow/v1/cases/{case_id}", headers=headers)).json()
        resolved = await http.post(
            f"{workflow}/workflow/v1/cases/{case_id}/identification/resolve",
            json={"version": view["version"], "answer": "Antrean kini dibagi dua loket."},
            headers=headers,
        )
        assert resolved.status_code == 200

        async def rated() -> int:
            return (
                await http.post(f"{intake}/intake/v1/surveys", json=survey, headers=own)
            ).status_code

        assert await eventually(lambda: _is(rated, 201), within=15)
        again = await http.post(f"{intake}/intake/v1/surveys", json=survey, headers=own)
        assert again.status_code == 409
        year = datetime.now(ZoneInfo(settings.timezone)).year
        skm_url = f"{system.url('reporting')}/reporting/v1/satisfaction?year={year}"

        async def counted() -> dict[str, object] | None:
            skm: dict[str, object] = (await http.get(skm_url)).json()
            return skm if skm["responses"] == 1 else None

        skm = await eventually(counted, within=15)
        assert skm is not None
        # counted, but one respondent's scores are never published (tests/reporting/
        # test_survey_figures.py: the index from the fifth response on)
        assert (skm["withheld"], skm["index"], skm["elements"]) == (True, None, [])
        assert "respondents" not in skm


async def _is(probe: object, expected: int) -> bool:
    assert callable(probe)
    return bool(await probe() == expected)


async def test_answers_sent_at_once_are_taken_once_and_the_rest_told_409(
    settings: Settings, tmp_path: Path
) -> None:
    """Double taps and two open tabs: optimistic concurrency on the submission, never a 500."""
    settings = with_free_ports(settings).model_copy(update={"rate_ip_per_minute": 10_000})
    async with running(settings, tmp_path) as system, httpx.AsyncClient(timeout=30) as http:
        intake, workflow = system.url("intake"), system.url("workflow")
        form = {"text": "Petugas loket sangat membantu, tetapi antrean lama."}
        answer = await http.post(f"{intake}/intake/v1/complaints", json=form)
        code = answer.json()["tracking_code"]
        own = {SECRET_HEADER: answer.json()["receipt_secret"]}
        issuer = await Issuer.load(settings)
        token = issuer.mint(subject="tim-1", name="Rina", roles=[Role.TIM_PENGADUAN])
        headers = {"Authorization": f"Bearer {token}"}

        async def found() -> str | None:
            rows = await http.get(
                f"{system.url('reporting')}/reporting/v1/cases",
                params={"code": code},
                headers=headers,
            )
            return str(rows.json()[0]["case_id"]) if rows.json() else None

        case_id = await eventually(found, within=15)
        assert case_id

        async def resolved() -> bool:
            case = f"{workflow}/workflow/v1/cases/{case_id}"
            view = (await http.get(case, headers=headers)).json()
            if "version" not in view:
                return False
            done = await http.post(
                f"{case}/identification/resolve",
                json={"version": view["version"], "answer": "Antrean kini dibagi dua loket."},
                headers=headers,
            )
            return done.status_code == 200

        assert await eventually(resolved, within=15)

        async def closed() -> bool:
            state = await http.get(f"{intake}/intake/v1/surveys/{code}", headers=own)
            return bool(state.json().get("open"))

        assert await eventually(closed, within=15)
        resolution = f"{intake}/intake/v1/own/{code}/resolution"
        answers = await asyncio.gather(
            *(http.post(resolution, json={"solved": True}, headers=own) for _ in range(8))
        )
        assert sorted(a.status_code for a in answers) == [201] + [409] * 7, [
            a.text for a in answers
        ]
        survey = {"tracking_code": code, "scores": SCORES}
        answers = await asyncio.gather(
            *(http.post(f"{intake}/intake/v1/surveys", json=survey, headers=own) for _ in range(8))
        )
        assert sorted(a.status_code for a in answers) == [201] + [409] * 7, [
            a.text for a in answers
        ]
        assert {a.json()["type"] for a in answers if a.status_code == 409} == {"/problems/surveyed"}
