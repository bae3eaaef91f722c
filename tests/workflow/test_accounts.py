"""Officer accounts on the built-in issuer: passwords, lockout, the administrator's API, the CLI."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from asgi_lifespan import LifespanManager

from services.workflow import accounts
from services.workflow.app import create_app
from services.workflow.issuer import Issuer
from shared.auth import Revocations, TokenVerifier, Unauthenticated
from shared.settings import Settings
from shared.sop import Role
from tests.infrastructure import environment
from tests.polling import eventually
from tests.system import running, with_free_ports

PASSWORD = "kunci-pintu-2026"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Office:
    """The workflow API in this process, its settings and its issuer."""

    http: httpx.AsyncClient
    settings: Settings
    issuer: Issuer
    app: Any

    def admin(self) -> dict[str, str]:
        """Headers of an administrator (a token the built-in issuer signs)."""
        token = self.issuer.mint(subject="admin", name="Admin", roles=[Role.ADMIN])
        return {"Authorization": f"Bearer {token}"}

    async def sign_in(self, username: str, password: str) -> httpx.Response:
        """POST the sign-in form."""
        body = {"username": username, "password": password}
        return await self.http.post("/workflow/v1/auth/sign-in", json=body)

    async def add(
        self, username: str = "rina", roles: tuple[str, ...] = ("tim_pengaduan",)
    ) -> None:
        """An account made by the administrator."""
        body = {"username": username, "name": "Rina", "roles": list(roles), "password": PASSWORD}
        answer = await self.http.post("/workflow/v1/accounts", json=body, headers=self.admin())
        assert answer.status_code == 201, answer.text

    def bearer(self, answer: httpx.Response) -> dict[str, str]:
        """Headers with the token of a sign-in answer."""
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture
async def office(settings: Settings) -> AsyncIterator[Office]:
    """Workflow with three wrong passwords allowed before a lockout."""
    configured = settings.model_copy(
        update={"relay": False, "clock": False, "auth_max_failures": 3}
    )
    app = create_app(configured)
    async with (
        LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://aduan.test"
        ) as http,
    ):
        yield Office(http, configured, app.state.issuer, app)


async def test_an_officer_the_admin_created_signs_in_with_a_short_lived_token(
    office: Office,
) -> None:
    await office.add("Rina", roles=("tim_pengaduan", "kabid"))
    answer = await office.sign_in("rina", PASSWORD)
    assert answer.status_code == 200, answer.text
    assert answer.json()["roles"] == ["tim_pengaduan", "kabid"]
    assert answer.json()["expires_in_minutes"] == office.settings.auth_token_minutes
    claims = await office.app.state.verifier.verify(answer.json()["token"])
    assert claims.id == "rina"
    listed = await office.http.get("/workflow/v1/accounts", headers=office.admin())
    assert [a["username"] for a in listed.json()] == ["rina"]
    assert "argon2" not in listed.text
    again = {"username": "rina", "name": "Lain", "roles": ["kabid"], "password": PASSWORD}
    taken = await office.http.post("/workflow/v1/accounts", json=again, headers=office.admin())
    assert taken.status_code == 409


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(office: Office) -> None:
    await office.add()
    wrong, unknown = [], []
    for _ in range(2):  # two rounds: under the lockout of three
        started = time.perf_counter()
        answer = await office.sign_in("rina", "bukan-kata-sandinya")
        wrong.append(time.perf_counter() - started)
        started = time.perf_counter()
        other = await office.sign_in("tidak-ada", "bukan-kata-sandinya")
        unknown.append(time.perf_counter() - started)
        assert answer.status_code == other.status_code == 401
        assert answer.json() == other.json()
        assert answer.json()["detail"] == "Nama pengguna atau kata sandi salah."
    # The unknown name is checked against a dummy hash: it costs a verification too. The
    # fastest of each (a busy machine only ever adds time: one slow sign-in in two made the
    # median of two a mean that a spike could double).
    assert min(unknown) > 0.5 * min(wrong), (unknown, wrong)


async def test_wrong_passwords_sent_together_are_stopped_at_the_lockout(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt counts as wrong before its password is compared. Counted after, all twenty
    sent at once were compared (each read the account unlocked first), though it locks after
    three: guessing in parallel, the right one among them opened it."""
    compared: list[str] = []
    matches = accounts._matches

    async def counted(hashed: str, password: str) -> bool:
        compared.append(password)
        return await matches(hashed, password)

    await office.add()
    monkeypatch.setattr(accounts, "_matches", counted)
    answers = await asyncio.gather(*(office.sign_in("rina", f"salah-{n}-xyz") for n in range(20)))
    codes = sorted(answer.status_code for answer in answers)
    assert len(compared) <= office.settings.auth_max_failures, codes
    assert set(codes) <= {401, 423}, codes
    assert (await office.sign_in("rina", PASSWORD)).status_code == 423  # locked


async def test_the_right_password_gives_its_attempt_back(office: Office) -> None:
    await office.add()
    for n in range(2):
        assert (await office.sign_in("rina", f"salah-{n}-xyz")).status_code == 401
    assert (await office.sign_in("rina", PASSWORD)).status_code == 200
    codes = [(await office.sign_in("rina", f"lagi-{n}-xyz")).status_code for n in range(3)]
    assert codes == [401, 401, 423]  # counted from the sign-in again


async def test_a_count_left_at_the_limit_locks_for_the_lockout_not_for_good(
    office: Office,
) -> None:
    """An attempt counted and never answered (the process stopped mid-comparison), or a limit
    lowered under an account's count: the count is at the limit with no lock in force. It is
    a lockout like any other, over when it ends (it was a 423 for good)."""
    await office.add()
    pool = office.app.state.pool
    await pool.execute(
        "UPDATE workflow.officers SET failed_attempts = $1, locked_until = NULL "
        "WHERE username = 'rina'",
        office.settings.auth_max_failures,
    )
    assert (await office.sign_in("rina", PASSWORD)).status_code == 423
    await pool.execute(  # the lockout over
        "UPDATE workflow.officers SET locked_until = now() - interval '1 second' "
        "WHERE username = 'rina'"
    )
    assert (await office.sign_in("rina", PASSWORD)).status_code == 200


async def test_repeated_wrong_passwords_lock_the_account_until_a_reset(office: Office) -> None:
    await office.add()
    codes = [(await office.sign_in("rina", f"salah-{n}-xyz")).status_code for n in range(3)]
    assert codes == [401, 401, 423]
    locked = await office.sign_in("rina", PASSWORD)
    assert locked.status_code == 423
    assert locked.headers["content-type"] == "application/problem+json"
    assert "dikunci" in locked.json()["detail"]
    listed = (await office.http.get("/workflow/v1/accounts", headers=office.admin())).json()
    assert listed[0]["locked_until"] is not None
    reset = await office.http.post(
        "/workflow/v1/accounts/rina/password",
        json={"password": "pintu-baru-2027"},
        headers=office.admin(),
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["locked_until"] is None
    assert (await office.sign_in("rina", "pintu-baru-2027")).status_code == 200


async def test_the_lockout_is_kept_in_the_database(office: Office) -> None:
    await office.add()
    for n in range(3):
        await office.sign_in("rina", f"salah-{n}-xyz")
    import asyncpg

    conn = await asyncpg.connect(office.settings.postgres_dsn())
    try:
        until = await conn.fetchval(
            "SELECT locked_until - now() FROM workflow.officers WHERE username = 'rina'"
        )
    finally:
        await conn.close()
    assert 14 * 60 < until.total_seconds() <= office.settings.auth_lockout_minutes * 60


async def test_an_officer_changes_their_password_with_the_current_one(office: Office) -> None:
    await office.add()
    headers = office.bearer(await office.sign_in("rina", PASSWORD))
    body = {"current_password": "tebakan-saja-1", "new_password": "rahasia-baru-99"}
    wrong = await office.http.post("/workflow/v1/auth/password", json=body, headers=headers)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    weak = {"current_password": PASSWORD, "new_password": "rina-rina-rina"}
    refused = await office.http.post("/workflow/v1/auth/password", json=weak, headers=headers)
    assert refused.status_code == 422
    body["current_password"] = PASSWORD
    changed = await office.http.post("/workflow/v1/auth/password", json=body, headers=headers)
    assert changed.status_code == 204, changed.text
    assert (await office.sign_in("rina", PASSWORD)).status_code == 401
    assert (await office.sign_in("rina", "rahasia-baru-99")).status_code == 200


async def test_a_disabled_account_cannot_sign_in(office: Office) -> None:
    await office.add()
    off = await office.http.patch(
        "/workflow/v1/accounts/rina", json={"disabled": True}, headers=office.admin()
    )
    assert off.json()["disabled"] is True
    refused = await office.sign_in("rina", PASSWORD)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Akun ini dinonaktifkan. Hubungi administrator."
    # A guess at a disabled account is told nothing more than a wrong password.
    assert (await office.sign_in("rina", "tebakan-saja-1")).status_code == 401
    on = await office.http.patch(
        "/workflow/v1/accounts/rina",
        json={"disabled": False, "roles": ["kabid"]},
        headers=office.admin(),
    )
    assert on.json()["roles"] == ["kabid"]
    assert (await office.sign_in("rina", PASSWORD)).json()["roles"] == ["kabid"]


async def test_only_an_administrator_manages_accounts(office: Office) -> None:
    await office.add("rina", roles=("tim_pengaduan",))
    await office.add("adi", roles=("admin",))
    rina = office.bearer(await office.sign_in("rina", PASSWORD))
    body = {"username": "budi", "name": "Budi", "roles": ["admin"], "password": PASSWORD}
    for method, path, json in [
        ("GET", "/workflow/v1/accounts", None),
        ("POST", "/workflow/v1/accounts", body),
        ("PATCH", "/workflow/v1/accounts/rina", {"roles": ["admin"]}),
        ("POST", "/workflow/v1/accounts/adi/password", {"password": "diambil-alih-1"}),
    ]:
        answer = await office.http.request(method, path, json=json, headers=rina)
        assert answer.status_code == 403, (path, answer.text)
        anonymous = await office.http.request(method, path, json=json)
        assert anonymous.status_code == 401
    adi = office.bearer(await office.sign_in("adi", PASSWORD))
    own = await office.http.patch("/workflow/v1/accounts/adi", json={"disabled": True}, headers=adi)
    assert own.status_code == 409
    pemohon = {**body, "roles": ["pemohon"]}
    bad = await office.http.post("/workflow/v1/accounts", json=pemohon, headers=adi)
    assert bad.status_code == 422


async def test_with_an_identity_provider_there_is_no_password_sign_in(settings: Settings) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    configured = settings.model_copy(
        update={"relay": False, "clock": False, "auth_public_keys": public.decode()}
    )
    from tests.conftest import serving

    async with serving(create_app(configured)) as http:
        info = (await http.get("/workflow/v1/auth")).json()
        assert (info["password_login"], info["demo_login"]) == (False, False)
        body = {"username": "rina", "password": PASSWORD}
        answer = await http.post("/workflow/v1/auth/sign-in", json=body)
        assert answer.status_code == 404


async def test_the_first_administrator_is_made_on_the_command_line(
    settings: Settings, tmp_path: Path
) -> None:
    env = os.environ | environment(settings)
    command = [sys.executable, "-m", "services.workflow", "officer", "add"]
    args = ["--username", "Kepala.TU", "--name", "Kepala TU", "--role", "admin"]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(f"{PASSWORD}\n".encode())
    assert process.returncode == 0, err.decode()
    assert "kepala.tu" in out.decode()
    configured = with_free_ports(settings).model_copy(update={"relay": False, "clock": False})
    async with running(configured, tmp_path, ["workflow"]) as system:
        body = {"username": "kepala.tu", "password": PASSWORD}
        url = f"{system.url('workflow')}/workflow/v1/auth/sign-in"
        async with httpx.AsyncClient() as http:
            answer = await http.post(url, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["roles"] == ["admin"]


async def test_the_provincial_administrator_is_made_on_the_command_line(office: Office) -> None:
    command = [sys.executable, "-m", "services.workflow", "officer", "add", "--agency", "*"]
    args = ["--username", "admin.prov", "--name", "Admin Provinsi", "--role", "admin"]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        env=os.environ | environment(office.settings),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate(f"{PASSWORD}\n".encode())
    assert process.returncode == 0, err.decode()
    signed = office.bearer(await office.sign_in("admin.prov", PASSWORD))
    body = {"id": "dinas-pu", "name": "Dinas Pekerjaan Umum"}
    saved = await office.http.put("/workflow/v1/agencies/dinas-pu", json=body, headers=signed)
    assert saved.status_code == 200, saved.text  # an administrator of the province
    refused = await office.http.put(
        "/workflow/v1/agencies/dinas-pu", json=body, headers=office.admin()
    )
    assert refused.status_code == 403  # the office's own administrator is not


async def test_the_cli_refuses_a_short_password(settings: Settings) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.workflow",
        "officer",
        "add",
        "--username",
        "xavier",
        "--name",
        "Xavier",
        "--role",
        "admin",
        env=os.environ | environment(settings),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate(b"pendek\n")
    assert process.returncode == 1
    assert "minimal 10 karakter" in err.decode()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/workflow/v1/auth/sign-in", '{"username": "rina", "password": "\\ud800"}'),
        ("/workflow/v1/auth/sign-in", '{"username": "ri\\u0000na", "password": "x"}'),
        (
            "/workflow/v1/accounts",
            '{"username": "rina", "name": "\\ud800\\ud800", "roles": ["kabid"],'
            ' "password": "kunci-pintu-2026"}',
        ),
    ],
)
async def test_odd_text_is_a_422_not_a_500(office: Office, path: str, body: str) -> None:
    headers = {"Content-Type": "application/json", **office.admin()}
    answer = await office.http.post(path, content=body.encode(), headers=headers)
    assert answer.status_code == 422, answer.text


async def test_sign_ins_from_one_address_are_limited(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"relay": False, "clock": False, "rate_ip_per_minute": 3}
    )
    from tests.conftest import serving

    async with serving(create_app(configured)) as http:
        answers = [
            await http.post(
                "/workflow/v1/auth/sign-in", json={"username": f"u{n}", "password": "tebak-tebak"}
            )
            for n in range(7)  # a password sprayed over several names
        ]
    codes = [answer.status_code for answer in answers]
    assert codes[:3] == [401, 401, 401]
    limited = answers[codes.index(429)]  # the 4th, or after 3 more if a minute began between
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert "Terlalu banyak percobaan masuk" in limited.json()["detail"]


async def test_an_agency_administrator_cannot_take_over_a_province_account(office: Office) -> None:
    """An account that also belongs to the province (or another agency) is managed only by an
    administrator of every agency it belongs to; the coordinator's role is the province's."""
    province = office.issuer.mint(
        subject="admin.prov",
        name="Admin Provinsi",
        roles=[Role.ADMIN],
        agency="*",
        memberships={"*": [Role.ADMIN]},
    )
    as_province = {"Authorization": f"Bearer {province}"}
    coordinator = {
        "username": "koor",
        "name": "Koordinator",
        "roles": ["tim_pengaduan"],
        "password": PASSWORD,
        "agency": office.settings.agency,
        "memberships": {"*": ["admin", "koordinator"]},
    }
    made = await office.http.post("/workflow/v1/accounts", json=coordinator, headers=as_province)
    assert made.status_code == 201, made.text
    home_admin = office.admin()
    for method, path, json in [
        ("POST", "/workflow/v1/accounts/koor/password", {"password": "diambil-alih-1"}),
        ("PATCH", "/workflow/v1/accounts/koor", {"memberships": {}}),
        ("PATCH", "/workflow/v1/accounts/koor", {"disabled": True}),
    ]:
        answer = await office.http.request(method, path, json=json, headers=home_admin)
        assert answer.status_code == 403, (path, answer.text)
    assert (await office.sign_in("koor", "diambil-alih-1")).status_code == 401
    signed = office.bearer(await office.sign_in("koor", PASSWORD))
    claims = await office.app.state.verifier.verify(signed["Authorization"].split()[1])
    assert Role.KOORDINATOR in claims.roles_in("*")

    local = {**coordinator, "username": "koor2", "memberships": {}, "roles": ["koordinator"]}
    refused = await office.http.post("/workflow/v1/accounts", json=local, headers=as_province)
    assert refused.status_code == 422, refused.text
    # A token that claims the coordinator's role in one agency holds nothing by it there.
    forged = office.issuer.mint(
        subject="x", name="X", roles=[Role.KOORDINATOR], agency=office.settings.agency
    )
    officer = await office.app.state.verifier.verify(forged)
    assert Role.KOORDINATOR not in officer.roles_in(office.settings.agency)


async def _refused_everywhere(office: Office, token: str) -> bool:
    """Whether the token is refused here and by another service's verifier (Redis shared)."""
    here = await office.http.get(
        "/workflow/v1/agencies", headers={"Authorization": f"Bearer {token}"}
    )
    redis = aioredis.Redis.from_url(office.settings.redis_url)
    try:
        elsewhere = TokenVerifier(
            office.settings,
            keys=office.issuer.public_keys(),
            revocations=Revocations(office.settings, redis),
        )
        try:
            await elsewhere.verify(token)
        except Unauthenticated:
            refused = True
        else:
            refused = False
    finally:
        await redis.aclose()
    assert here.status_code in (200, 401), here.text
    assert (here.status_code == 401) == refused, (here.text, refused)
    return refused


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"disabled": True}, ""),
        ({"roles": ["analis"]}, ""),
        ({"password": "kunci-baru-2026!"}, "/password"),
    ],
    ids=["disabled", "roles", "password reset"],
)
async def test_a_changed_account_s_earlier_tokens_count_no_more(
    office: Office, change: dict[str, Any], path: str
) -> None:
    await office.add("rina")
    token = (await office.sign_in("rina", PASSWORD)).json()["token"]
    assert not await _refused_everywhere(office, token)
    method = office.http.post if path else office.http.patch
    answer = await method(f"/workflow/v1/accounts/rina{path}", json=change, headers=office.admin())
    assert answer.status_code == 200, answer.text

    async def refused() -> bool:
        return await _refused_everywhere(office, token)

    await eventually(refused, within=5)  # each service reads the mark at most a second late
    if "disabled" not in change:  # signing in again gives a token that counts
        password = change.get("password", PASSWORD)
        fresh = (await office.sign_in("rina", password)).json()["token"]
        assert not await _refused_everywhere(office, fresh)


async def test_renaming_an_account_keeps_its_tokens(office: Office) -> None:
    await office.add("rina")
    token = (await office.sign_in("rina", PASSWORD)).json()["token"]
    renamed = await office.http.patch(
        "/workflow/v1/accounts/rina", json={"name": "Rina W."}, headers=office.admin()
    )
    assert renamed.status_code == 200, renamed.text
    assert not await _refused_everywhere(office, token)


async def set_password_on_the_command_line(settings: Settings, username: str, password: str) -> str:
    """`python -m services.workflow officer password` run to its end; what it printed."""
    command = [sys.executable, "-m", "services.workflow", "officer", "password"]
    process = await asyncio.create_subprocess_exec(
        *command,
        "--username",
        username,
        env=os.environ | environment(settings),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(f"{password}\n".encode())
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_a_password_set_on_the_command_line_ends_the_account_s_tokens(
    office: Office,
) -> None:
    await office.add("rina")
    token = (await office.sign_in("rina", PASSWORD)).json()["token"]
    await set_password_on_the_command_line(office.settings, "rina", "kunci-baru-2026!")

    async def refused() -> bool:
        return await _refused_everywhere(office, token)

    await eventually(refused, within=5)


async def test_a_password_is_set_on_the_command_line_with_redis_away(office: Office) -> None:
    """A locked-out last administrator gets in even when Redis is down: said, not a failure."""
    await office.add("rina")
    away = office.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    out = await set_password_on_the_command_line(away, "rina", "kunci-baru-2026!")
    assert "Peringatan" in out
    assert (await office.sign_in("rina", "kunci-baru-2026!")).status_code == 200
