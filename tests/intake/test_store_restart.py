"""A PostgreSQL restarted while intake was idle: the first submission after it is stored.

The pool's connections made before the restart were found broken one at a time by its
pre-ping, which sleeps a second, then two, between checks: the first write ran out its
deadline (503) with the server up, and readiness said ready all along.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from services.intake.app import create_app
from shared.settings import Settings
from shared.storepool import FRESH_SECONDS
from tests.conftest import serving
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.polling import eventually
from tests.servers import PrivatePostgres

FORM = {"text": "Antrean di loket terlalu lama, mohon ditambah petugas."}


async def test_the_first_submission_after_a_restart_of_postgres_is_stored(
    private_postgres: PrivatePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shared.storepool")
    base = base_settings().model_copy(update={"postgres_port": private_postgres.port})
    settings = (await create_isolated(base)).model_copy(update={"relay": False})
    try:
        await _first_after_a_restart(settings, private_postgres, caplog)
    finally:
        await destroy_isolated(settings)


async def _first_after_a_restart(
    settings: Settings, private_postgres: PrivatePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(create_app(settings)) as http:
        for _ in range(3):  # the pool holds connections made before the restart
            assert (await http.post("/intake/v1/complaints", json=FORM)).status_code == 201
        await asyncio.to_thread(private_postgres.restart)

        async def noticed() -> bool:  # back a moment, no one has written since
            return any("PostgreSQL restarted" in record.message for record in caplog.records)

        assert await eventually(noticed, within=10 * FRESH_SECONDS)
        assert (await http.get("/readyz")).status_code == 200
        began = time.monotonic()
        first = await http.post("/intake/v1/complaints", json=FORM)
        assert first.status_code == 201, first.text
        assert time.monotonic() - began < 1.0
