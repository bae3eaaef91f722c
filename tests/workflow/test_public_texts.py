"""Workflow's internal route with the office's texts in clear, for the complainant's own view
and own channel: to the service credential only; the erased case's texts are gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from pydantic import SecretStr

from services.workflow.app import create_app
from shared.feed import CREDENTIAL_HEADER
from shared.office_texts import path
from shared.sealing import ERASED
from shared.settings import Settings
from shared.sop import Role
from tests.conftest import serving
from tests.workflow.conftest import Desk

CREDENTIAL = "kredensial-layanan-uji"
ASKED = "Mohon kirim foto KTP, atau hubungi kami di 0812-3456-7890."
ANSWER = "Izin terbit. Kendala? Tulis ke petugas.rina@dpmptsp.example.go.id."
TIM = Role.TIM_PENGADUAN
SERVICE = {CREDENTIAL_HEADER: CREDENTIAL}


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    configured = settings.model_copy(
        update={"relay": False, "clock": False, "internal_token": SecretStr(CREDENTIAL)}
    )
    app = create_app(configured)
    async with serving(app) as http:
        yield Desk(http, app.state.cases, app.state.issuer)


async def test_only_a_service_reads_the_office_texts_in_clear(desk: Desk) -> None:
    case_id = await desk.open()
    route = path(case_id)
    for headers in ({}, {CREDENTIAL_HEADER: "tebakan"}, desk.headers(TIM)):
        refused = await desk.http.get(route, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert ASKED not in refused.text

    assert (await desk.http.get(route, headers=SERVICE)).json() == {
        "answer": None,
        "message": None,
    }
    await desk.step(case_id, "information-request", TIM, reason="Foto belum ada.", message=ASKED)
    assert (await desk.http.get(route, headers=SERVICE)).json() == {
        "answer": None,
        "message": ASKED,
    }

    await desk.step(case_id, "information-received", TIM, summary="Foto diterima.")
    await desk.step(case_id, "identification/resolve", TIM, answer=ANSWER)
    texts = await desk.http.get(route, headers=SERVICE)
    assert texts.json() == {"answer": ANSWER, "message": ASKED}  # as written, not masked

    unknown = await desk.http.get(path(uuid4()), headers=SERVICE)
    assert unknown.status_code == 404


async def test_an_erased_case_has_no_texts(desk: Desk) -> None:
    case_id = await desk.open()
    await desk.step(case_id, "identification/resolve", TIM, answer=ANSWER)

    await desk.erase(case_id)
    texts = await desk.http.get(path(case_id), headers=SERVICE)
    assert texts.status_code == 200, texts.text
    assert texts.json() == {"answer": None, "message": None}


async def test_no_one_is_asked_for_information_once_their_data_is_erased(desk: Desk) -> None:
    """The request stopped the clock for an answer no one could be asked for (their contact
    erased): the case then waited forever. It is refused, saying why, and not offered; a case
    already waiting when the data was erased takes the answer that came and runs again."""
    asking = await desk.open()
    await desk.erase(asking)
    offered = await desk.view(asking)
    assert "information-request" not in offered["allowed_actions"]
    refused = await desk.act(asking, "information-request", TIM, reason="Foto belum ada.")
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "/problems/case-erased"
    assert "sudah dihapus" in refused.json()["detail"]
    assert (await desk.view(asking))["waiting_since"] is None

    waiting = await desk.open()
    await desk.step(waiting, "information-request", TIM, reason="Foto belum ada.", message=ASKED)
    await desk.erase(waiting)
    resumed = await desk.step(waiting, "information-received", TIM, summary="Foto diterima.")
    assert resumed["waiting_since"] is None


async def test_a_case_erased_while_open_still_walks_to_its_close(desk: Desk) -> None:
    """Once the complainant's data is erased, the case's key is gone: every command that
    writes text was answered 404 (unknown case), so an open case stayed open past its
    deadline. Its commands go through now; their texts are not kept."""
    case_id = await desk.open()

    await desk.erase(case_id)
    noted = await desk.step(case_id, "notes", TIM, text="Dicatat sesudah penghapusan.")
    assert noted["timeline"][-1]["details"]["text"] == ERASED  # said so, not a blank
    assert "attachments" not in noted["allowed_actions"]  # no key to encrypt a file with
    closed = await desk.step(case_id, "identification/resolve", TIM, answer=ANSWER)
    assert closed["closed_at"] is not None, closed
    texts = await desk.http.get(path(case_id), headers=SERVICE)
    assert texts.json() == {"answer": None, "message": None}  # nothing written was kept
    stored = await asyncio.to_thread(desk.cases.history, case_id)
    assert [event.answer for event in stored if hasattr(event, "answer")] == [""]
