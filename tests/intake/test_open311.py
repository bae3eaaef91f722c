"""Open311 POST requests: the spec's fields become a submission on the `open311` channel, the
person sealed as on every channel, the place kept with the words, media_url as a reference."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import SecretStr

from services.intake.app import create_app
from shared.agencies import Agency, save
from shared.settings import Settings
from shared.sop import Role
from tests.conftest import serving
from tests.intake.conftest import Desk, channel_settings
from tests.intake.standins import http_standin

KEY = "kunci-mitra"
ENDPOINT = "/open311/v2/requests.json"
FIELDS = {
    "api_key": KEY,
    "service_code": "biaya",
    "description": "Saya diminta membayar biaya tambahan di loket perizinan.",
    "first_name": "Budi",
    "last_name": "Santoso",
    "email": "budi@example.id",
    "phone": "0812 3456 7890",
    "address_string": "Jl. Veteran 2, Gresik",
    "lat": "-7.16",
    "long": "112.65",
    "media_url": "https://mitra.example/foto/2.jpg",
}


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    async with http_standin() as graph:
        configured = channel_settings(
            settings, graph.url, relay=False, open311_api_keys=SecretStr(f"lama, {KEY}")
        )
        app = create_app(configured)
        async with serving(app) as http:
            yield Desk(http, app, configured, graph)


async def test_a_request_is_a_sealed_submission_on_the_open311_channel(desk: Desk) -> None:
    answer = await desk.http.post(ENDPOINT, data=FIELDS)
    assert answer.status_code == 201, answer.text
    [row] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    [stored] = await desk.fetch("SELECT state FROM intake.submissions_events")
    assert b'"channel":"open311"' in bytes(stored["state"])
    assert b"Budi" not in bytes(stored["state"])  # sealed
    view = await desk.http.get(
        f"/intake/v1/submissions/{row['case_id']}", headers=desk.officer(Role.TIM_PENGADUAN)
    )
    submission = view.json()
    assert submission["contact"]["name"] == "Budi Santoso"
    assert submission["contact"]["phone"] == "+6281234567890"
    assert submission["contact"]["email"] == "budi@example.id"
    assert submission["text"].startswith(FIELDS["description"])
    assert "Lokasi: Jl. Veteran 2, Gresik (-7.160000, 112.650000)" in submission["text"]
    [media] = submission["attachments"]
    assert media["reference"] == FIELDS["media_url"]
    assert answer.json()[0]["service_request_id"] == view.json()["tracking_code"]


async def test_a_consultation_is_filed_under_its_service(desk: Desk) -> None:
    fields = {"api_key": KEY, "service_code": "konsultasi", "description": "Apa syarat PBG?" * 2}
    answer = await desk.http.post("/open311/v2/requests.xml", data=fields)
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    assert await desk.events() == ["ConsultationReceived"]


async def test_without_any_configured_key_every_post_is_refused(settings: Settings) -> None:
    async with serving(create_app(settings.model_copy(update={"relay": False}))) as http:
        refused = await http.post(ENDPOINT, data=FIELDS | {"api_key": ""})
    assert refused.status_code == 403
    assert refused.json() == [{"code": 403, "description": "api_key tidak sah atau tidak ada."}]


async def test_the_rate_limit_answers_in_the_spec_format(settings: Settings) -> None:
    limited = settings.model_copy(
        update={"relay": False, "rate_ip_per_minute": 1, "open311_api_keys": SecretStr(KEY)}
    )
    async with serving(create_app(limited)) as http:
        first = await http.post(ENDPOINT, data=FIELDS)
        second = await http.post("/open311/v2/requests.xml", data=FIELDS)
    assert first.status_code == 201
    assert second.status_code == 429
    assert second.headers["retry-after"]
    assert b"<errors><error><code>429</code>" in second.content


async def test_a_request_to_another_agency_jurisdiction_is_that_agency_submission(
    desk: Desk,
) -> None:
    conn = await asyncpg.connect(desk.settings.postgres_dsn())
    try:
        await save(conn, Agency(id="dinas-b", name="Dinas B"))
    finally:
        await conn.close()
    answer = await desk.http.post(ENDPOINT, data=FIELDS | {"jurisdiction_id": "dinas-b"})
    assert answer.status_code == 201, answer.text
    [row] = await desk.fetch("SELECT case_id FROM intake.submission_index")
    assert desk.app.state.inbox.submissions.submission(row["case_id"]).agency == "dinas-b"
    unknown = await desk.http.post(ENDPOINT, data=FIELDS | {"jurisdiction_id": "tidak-ada"})
    assert unknown.status_code == 404
    assert unknown.json()[0]["code"] == 404
