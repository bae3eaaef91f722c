"""Domain refusals are plain exceptions; each service's API answers them from one table."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from services.intake import api as intake_api
from services.intake import inbox
from services.workflow import api as workflow_api
from services.workflow import rules
from shared.problems import refusal_handler
from shared.refusals import Refused


def refusals_of(module: object) -> set[type[Refused]]:
    return {
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Refused)
        and value is not Refused
        and value.__module__ == getattr(module, "__name__", "")
    }


@pytest.mark.parametrize(
    ("module", "table"),
    [(rules, workflow_api.REFUSALS), (inbox, intake_api.REFUSALS)],
    ids=["workflow", "intake"],
)
def test_every_refusal_has_its_status(module: object, table: dict[type[Refused], int]) -> None:
    defined = refusals_of(module)
    assert defined, module
    assert defined == set(table)
    assert all(400 <= status < 500 for status in table.values())


async def test_a_refusal_is_answered_as_problem_json_with_its_facts() -> None:
    app = FastAPI()
    app.add_exception_handler(Refused, refusal_handler(workflow_api.REFUSALS))

    @app.get("/stale")
    async def stale() -> None:
        raise rules.StaleVersion(7)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/stale")
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == "/problems/stale-version"
    assert body["current_version"] == 7
    assert body["instance"] == "/stale"
