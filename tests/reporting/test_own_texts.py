"""The complainant's own view asks workflow for the office's texts as written; workflow away,
it still answers, with the masked texts reporting holds (tests/e2e/test_complainant.py shows
the clear ones through the real services)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from services.reporting.app import create_app
from shared.receipts import SECRET_HEADER, receipt_key, secret_for
from shared.settings import Settings
from tests.bus import bus
from tests.conftest import serving
from tests.infrastructure import free_port
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.reporting.test_api import answered, received

CREDENTIAL = "kredensial-layanan-uji"


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    configured = settings.model_copy(
        update={"internal_token": SecretStr(CREDENTIAL), "workflow_port": free_port()}
    )
    async with serving(create_app(configured)) as http, bus(configured) as connected:
        yield Desk(http, connected, configured, ec.generate_private_key(ec.SECP256R1()))


async def test_workflow_away_the_own_view_still_answers_with_the_masked_answer(
    desk: Desk,
) -> None:
    case = received(desk.settings.agency)
    await desk.bus.publish(case, *answered(case))
    code = case.data.model_dump()["tracking_code"]
    own = {SECRET_HEADER: secret_for(receipt_key(CREDENTIAL), code)}

    async def resolved() -> dict[str, object] | None:
        view = await desk.http.get(f"/reporting/v1/track/{code}", headers=own)
        body: dict[str, object] = view.json()
        return body if view.status_code == 200 and body.get("status") == "resolved" else None

    view = await eventually(resolved, within=15)
    assert view is not None
    assert view["own"] is True
    assert view["answer"] == "Izin Anda sudah terbit."  # what was published (masked)
