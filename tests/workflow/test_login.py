"""The local login page's API and the command table the case page draws its forms from."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.workflow.app import create_app
from services.workflow.commands import COMMANDS
from shared.settings import Settings
from tests.conftest import serving
from tests.system import running, with_free_ports
from tests.workflow.conftest import Desk


@pytest.fixture
async def local(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The workflow API with the local login turned on, as `make up` runs it."""
    configured = settings.model_copy(
        update={"relay": False, "clock": False, "auth_demo_login": True}
    )
    async with serving(create_app(configured)) as http:
        yield http


async def test_a_local_login_gives_a_token_the_service_accepts(
    local: httpx.AsyncClient,
) -> None:
    info = (await local.get("/workflow/v1/auth")).json()
    assert info["demo_login"] is True
    assert {"id": "kepala_dinas", "label": "Kepala Dinas"} in info["roles"]
    assert "pemohon" not in {role["id"] for role in info["roles"]}
    answer = await local.post("/workflow/v1/auth/login", json={"name": "Budi", "role": "kabid"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["roles"] == ["kabid"]
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    calendar = await local.put(
        "/workflow/v1/calendar/days/2026-12-24",
        json={"working": False, "name": "Cuti bersama"},
        headers=headers,
    )
    assert calendar.status_code == 403  # a real token: known, but only an admin may do that


async def test_a_local_coordinator_login_acts_for_the_province(
    local: httpx.AsyncClient,
) -> None:
    body = {"name": "Wati", "role": "koordinator"}
    answer = await local.post("/workflow/v1/auth/login", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["agency"] == "*"
    assert answer.json()["memberships"] == {"*": ["koordinator"]}
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    agencies = await local.get("/workflow/v1/agencies", headers=headers)
    assert agencies.status_code == 200, agencies.text  # a token the service accepts


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "B", "role": "kabid"}, "name"),
        ({"name": "Budi", "role": "raja"}, "role"),
        ({"name": "Budi", "role": "pemohon"}, "role"),
        ({"name": "Budi"}, "role"),
    ],
)
async def test_a_bad_login_names_the_field(
    local: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    answer = await local.post("/workflow/v1/auth/login", json=body)
    assert answer.status_code == 422
    assert field in {error["field"] for error in answer.json()["errors"]}


async def test_the_local_login_is_off_unless_turned_on(desk: Desk) -> None:
    assert (await desk.http.get("/workflow/v1/auth")).json()["demo_login"] is False
    answer = await desk.http.post("/workflow/v1/auth/login", json={"name": "Budi", "role": "admin"})
    assert answer.status_code == 404
    assert answer.json()["type"] == "/problems/login-disabled"


async def test_every_command_comes_with_its_form_in_indonesian(desk: Desk) -> None:
    actions = (await desk.http.get("/workflow/v1/actions")).json()
    assert [action["path"] for action in actions] == [command.path for command in COMMANDS]
    for action in actions:
        for name, field in action["body_schema"]["properties"].items():
            assert field.get("title"), f"{action['path']}.{name} has no label"
    bap = next(a for a in actions if a["path"] == "bap")["body_schema"]
    assert bap["properties"]["date"] == {
        "format": "date",
        "title": "Tanggal pemeriksaan",
        "type": "string",
    }
    assert "parties_present" in bap["required"]


async def test_the_demo_login_is_refused_to_a_caller_on_another_machine(
    settings: Settings,
) -> None:
    configured = settings.model_copy(
        update={"relay": False, "clock": False, "auth_demo_login": True}
    )
    async with LifespanManager(create_app(configured), startup_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("192.0.2.77", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://aduan.test") as http:
            assert (await http.get("/workflow/v1/auth")).json()["demo_login"] is False
            body = {"name": "Budi", "role": "admin"}
            answer = await http.post("/workflow/v1/auth/login", json=body)
    assert answer.status_code == 404
    assert answer.json()["type"] == "/problems/login-disabled"


def _address_of_this_machine() -> str | None:
    """A non-loopback IPv4 address of this machine (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_the_demo_login_is_off_when_the_service_listens_beyond_loopback(
    settings: Settings, tmp_path: Path
) -> None:
    configured = with_free_ports(settings).model_copy(
        update={"relay": False, "clock": False, "auth_demo_login": True, "bind_host": "0.0.0.0"}
    )
    async with running(configured, tmp_path, ["workflow"]) as system:
        port = system.settings.port("workflow")
        hosts = ["127.0.0.1", *filter(None, [_address_of_this_machine()])]
        async with httpx.AsyncClient(timeout=10) as http:
            for host in hosts:
                base = f"http://{host}:{port}/workflow/v1/auth"
                assert (await http.get(base)).json()["demo_login"] is False
                answer = await http.post(f"{base}/login", json={"name": "Budi", "role": "admin"})
                assert answer.status_code == 404, host
