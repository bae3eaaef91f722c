"""Reporting refuses what intake and workflow refuse: another agency's token, an overlong one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from shared.sop import Role
from tests.reporting.conftest import Desk


def _bearer(desk: Desk, **claims: Any) -> dict[str, str]:
    now = datetime.now(UTC)
    body = {
        "iss": desk.settings.auth_issuer,
        "aud": desk.settings.auth_audience,
        "sub": "analis-1",
        "roles": [Role.ANALIS.value],
        "agency": desk.settings.agency,
        "iat": now,
        "exp": now + timedelta(hours=1),
    } | claims
    return {"Authorization": "Bearer " + jwt.encode(body, desk.key, algorithm="ES256")}


async def test_reporting_refuses_a_signed_token_of_another_agency(desk: Desk) -> None:
    assert (await desk.http.get("/reporting/v1/cases", headers=_bearer(desk))).status_code == 200
    other = await desk.http.get("/reporting/v1/cases", headers=_bearer(desk, agency="dinkes"))
    assert other.status_code == 403
    assert other.json()["detail"] == "Token ini untuk instansi lain."


async def test_reporting_refuses_a_token_that_lives_a_century(desk: Desk) -> None:
    century = datetime.now(UTC) + timedelta(days=36500)
    answer = await desk.http.get("/reporting/v1/cases", headers=_bearer(desk, exp=century))
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
