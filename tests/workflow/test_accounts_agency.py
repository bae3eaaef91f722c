"""The agency of an account the administrator makes: named by an administrator of the province
or of several agencies (never taken as the province's by default); in the province only the
province's roles, which reach every agency."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx

from shared.sop import PROVINCE, Role
from tests.infrastructure import environment
from tests.workflow.test_accounts import PASSWORD, ROOT, Office, office

__all__ = ["office"]  # the fixture, used by name

B = "dinas-b"


def _bearer(office: Office, agency: str, memberships: dict[str, list[Role]]) -> dict[str, str]:
    token = office.issuer.mint(
        subject=f"admin-{agency}",
        name="Admin",
        roles=[Role.ADMIN],
        agency=agency,
        memberships=memberships,
    )
    return {"Authorization": f"Bearer {token}"}


def _province(office: Office) -> dict[str, str]:
    return _bearer(office, PROVINCE, {PROVINCE: [Role.ADMIN]})


async def _create(office: Office, headers: dict[str, str], **fields: Any) -> httpx.Response:
    body = {"username": "rina", "name": "Rina", "roles": ["petugas"], "password": PASSWORD}
    return await office.http.post("/workflow/v1/accounts", json=body | fields, headers=headers)


async def _register_b(office: Office) -> None:
    body = {"id": B, "name": "Dinas Perhubungan"}
    answer = await office.http.put(
        f"/workflow/v1/agencies/{B}", json=body, headers=_province(office)
    )
    assert answer.status_code == 200, answer.text


async def test_the_province_administrator_names_the_agency_of_an_account(office: Office) -> None:
    unnamed = await _create(office, _province(office))
    assert unnamed.status_code == 422, unnamed.text
    assert unnamed.headers["content-type"] == "application/problem+json"
    assert unnamed.json()["detail"] == "Pilih instansi akun ini."
    assert unnamed.json()["errors"][0]["field"] == "agency"
    listed = await office.http.get("/workflow/v1/accounts", headers=_province(office))
    assert listed.json() == []
    made = await _create(office, _province(office), agency=office.settings.agency)
    assert made.status_code == 201, made.text
    assert (made.json()["agency"], made.json()["roles"]) == (office.settings.agency, ["petugas"])


async def test_only_the_province_roles_are_held_in_the_province(office: Office) -> None:
    """An agency's role held in the province would be held in every agency."""
    province = _province(office)
    home = office.settings.agency
    refusals: list[dict[str, Any]] = [
        {"agency": PROVINCE},
        {"agency": home, "memberships": {PROVINCE: ["kabid"]}},
        {"agency": PROVINCE, "roles": ["admin", "tim_pengaduan"]},
    ]
    for fields in refusals:
        refused = await _create(office, province, **fields)
        assert refused.status_code == 422, (fields, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    second = await _create(
        office, province, username="admin.prov2", agency=PROVINCE, roles=["admin"]
    )
    assert second.status_code == 201, second.text
    assert second.json()["agency"] == PROVINCE
    coordinator = await _create(
        office, province, username="koor", agency=home, memberships={PROVINCE: ["koordinator"]}
    )
    assert coordinator.status_code == 201, coordinator.text
    rina = await _create(office, province, agency=home)
    assert rina.status_code == 201, rina.text
    for change in [{"agency": PROVINCE}, {"memberships": {PROVINCE: ["petugas"]}}]:
        moved = await office.http.patch("/workflow/v1/accounts/rina", json=change, headers=province)
        assert moved.status_code == 422, (change, moved.text)
    demoted = await office.http.patch(
        "/workflow/v1/accounts/admin.prov2", json={"roles": ["petugas"]}, headers=province
    )
    assert demoted.status_code == 422, demoted.text


async def test_an_administrator_of_several_agencies_names_the_agency(office: Office) -> None:
    await _register_b(office)
    home = office.settings.agency
    both = _bearer(office, home, {home: [Role.ADMIN], B: [Role.ADMIN]})
    unnamed = await _create(office, both)
    assert unnamed.status_code == 422, unnamed.text
    assert unnamed.json()["detail"] == "Pilih instansi akun ini."
    at_b = await _create(office, both, agency=B)
    assert at_b.status_code == 201, at_b.text
    assert at_b.json()["agency"] == B
    only_home = await _create(office, office.admin(), username="budi")  # one agency: its own
    assert only_home.status_code == 201, only_home.text
    assert only_home.json()["agency"] == home


async def test_the_command_line_gives_the_province_only_the_province_roles(
    office: Office,
) -> None:
    command = [sys.executable, "-m", "services.workflow", "officer", "add", "--agency", "*"]
    args = ["--username", "petugas.prov", "--name", "Petugas", "--role", "petugas"]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        env=os.environ | environment(office.settings),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate(f"{PASSWORD}\n".encode())
    assert process.returncode == 1
    assert "hanya dapat dipegang peran" in err.decode()
    assert (await office.sign_in("petugas.prov", PASSWORD)).status_code == 401
