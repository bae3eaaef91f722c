"""A PostgreSQL restarted while intake was idle: the first submission after it is stored.

The pool's connections made before the restart were found broken one at a time by its
pre-ping, which sleeps a second, then two, between checks: the first write ran out its
deadline (503) with the server up, and readiness said ready all along.
"""

from __future__ import annotations

import asyncio
import time

from services.intake.app import create_app
from shared.settings import Settings
from shared.storepool import FRESH_SECONDS
from tests.conftest import serving
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.servers import PrivatePostgres

FORM = {"text": "Antrean di loket terlalu lama, mohon ditambah petugas."}


async def test_the_first_submission_after_a_restart_of_postgres_is_stored(
    private_postgres: PrivatePostgres,
) -> None:
    base = base_settings().model_copy(update={"postgres_port": private_postgres.port})
    settings = (await create_isolated(base)).model_copy(update={"relay": False})
    try:
        await _first_after_a_restart(settings, private_postgres)
    finally:
        await destroy_isolated(settings)


async def _first_after_a_restart(settings: Settings, private_postgres: PrivatePostgres) -> None:
    async with serving(create_app(settings)) as http:
        for _ in range(3):  # the pool holds connections made before the restart
            assert (await http.post("/intake/v1/complaints", json=FORM)).status_code == 201
        await asyncio.to_thread(private_postgres.restart)
        await asyncio.sleep(3 * FRESH_SECONDS)  # back a few seconds: no one has written since
        assert (await http.get("/readyz")).status_code == 200
        began = time.monotonic()
        first = await http.post("/intake/v1/complaints", json=FORM)
        assert first.status_code == 201, first.text
        assert time.monotonic() - began < 1.0
