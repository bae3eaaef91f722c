"""Query parameters as every service reads them: an unknown one, or one that takes a single
value given several times, is a 422 problem that names it, never silently half-read."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import FastAPI, Query

from shared.service import create_service_app
from shared.settings import Settings


@contextlib.asynccontextmanager
async def _nothing(_: FastAPI) -> AsyncIterator[None]:
    yield


def _app() -> FastAPI:
    app = create_service_app(service="uji", settings=Settings(), lifespan=_nothing)

    @app.get("/uji/one")
    async def one(group_by: Annotated[str | None, Query()] = None) -> dict[str, str | None]:
        return {"group_by": group_by}

    @app.get("/uji/many")
    async def many(type: Annotated[list[str] | None, Query()] = None) -> dict[str, list[str]]:
        return {"type": type or []}

    return app


async def test_a_single_valued_parameter_given_twice_is_refused() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://uji") as http:
        twice = await http.get("/uji/one?group_by=month&group_by=channel")
        assert twice.status_code == 422
        assert twice.headers["content-type"] == "application/problem+json"
        assert twice.json()["errors"] == [
            {
                "field": "group_by",
                "code": "repeated",
                "message": "Parameter ini hanya menerima satu nilai.",
            }
        ]
        assert (await http.get("/uji/one?group_by=month")).json() == {"group_by": "month"}
        several = await http.get("/uji/many?type=A&type=B")
        assert several.json() == {"type": ["A", "B"]}
        unknown = await http.get("/uji/one?grup_by=month")
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "grup_by"
