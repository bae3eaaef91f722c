"""A service started while PostgreSQL is away (the machine booting, the server restarting) waits
for it, saying so once, and serves as soon as it is back: it does not exit for its supervisor to
start it again after a back-off of up to 30 s (`make up`), or not at all (a plain process)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shared.settings import SERVICES
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.polling import eventually
from tests.servers import PrivatePostgres
from tests.system import System, with_free_ports

WAITING = "PostgreSQL cannot be reached"


async def test_a_service_started_while_postgres_is_away_waits_then_serves(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    on_private = {
        "postgres_host": "127.0.0.1",
        "postgres_port": private_postgres.port,
        "postgres_user": "postgres",
    }
    settings = with_free_ports(await create_isolated(base_settings().model_copy(update=on_private)))
    system = System(settings, tmp_path, ready_within=120)
    try:
        await asyncio.to_thread(private_postgres.stop)
        starting = {service: asyncio.ensure_future(system.start(service)) for service in SERVICES}
        logs = {service: tmp_path / f"{service}.log" for service in SERVICES}

        async def all_waiting() -> bool:
            for service, started in starting.items():
                if started.done():  # ready without the database, or exited: either is wrong
                    started.result()
                    raise AssertionError(f"{service} did not wait:\n{system.log_tail(service)}")
            return all(log.exists() and WAITING in log.read_text() for log in logs.values())

        await eventually(all_waiting, within=60, interval=0.2)
        await asyncio.to_thread(private_postgres.start)
        await asyncio.wait_for(asyncio.gather(*starting.values()), timeout=60)
        for service, log in logs.items():
            text = log.read_text()
            assert text.count(WAITING) == 1, f"{service} said it more than once:\n{text}"
            assert "PostgreSQL is back" in text, text
    finally:
        await asyncio.gather(*(system.stop(name) for name in list(system.processes)))
        await destroy_isolated(settings)
