"""Attacks on the running office through both front doors: the gateway and nginx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.front_door import DOORS, FrontDoors, front_doors
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.system import with_free_ports

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def office(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FrontDoors]:
    """One office for the module, behind the gateway and nginx."""
    settings = with_free_ports(await create_isolated(base_settings()))
    try:
        async with front_doors(settings, tmp_path_factory.mktemp("office")) as doors:
            yield doors
    finally:
        await destroy_isolated(settings)


@pytest.fixture(params=DOORS)
def origin(request: pytest.FixtureRequest, office: FrontDoors) -> str:
    """The base URL of one front door."""
    return office.origin(request.param)


async def test_pages_and_services_answer_through_the_door(origin: str) -> None:
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        assert (await http.get("/")).status_code == 200
        assert (await http.get("/intake/readyz")).status_code == 200
