"""The code exchange at the office's OpenID Connect provider, through workflow's API, against
the real provider (panva's oidc-provider): PKCE, nonce, one use per code, the provider away,
and the roles its claims map to."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest

from services.workflow import oidc
from services.workflow.app import create_app
from shared import agencies, db
from shared.agencies import Agency
from shared.settings import Settings
from shared.sop import Role
from tests.conftest import serving
from tests.identity_provider import ROLE_MAP, OidcProvider, oidc_provider

PUBLIC_URL = "http://aduan.test"


@dataclass
class Office:
    """Workflow (in this process) signing officers in at the running provider."""

    http: httpx.AsyncClient
    provider: OidcProvider
    logs: Path
    running: contextlib.AsyncExitStack
    app: Any

    async def stop_provider(self) -> None:
        """Stop the provider (workflow keeps running)."""
        await self.running.aclose()


@pytest.fixture
async def office(settings: Settings, tmp_path: Path) -> AsyncIterator[Office]:
    """Workflow configured for the test's provider."""
    async with contextlib.AsyncExitStack() as running:
        provider = await running.enter_async_context(
            oidc_provider(PUBLIC_URL + oidc.REDIRECT_PATH, tmp_path)
        )
        configured = settings.model_copy(
            update={"relay": False, "clock": False, "public_url": PUBLIC_URL} | provider.settings()
        )
        app = create_app(configured)
        async with serving(app) as http:
            yield Office(http, provider, tmp_path, running, app)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Attempt:
    """What the login page makes before sending the officer to the provider."""

    verifier: str
    nonce: str
    state: str


async def code_for(office: Office, login: str) -> tuple[str, Attempt]:
    """An authorization code, as a browser gets one: through the provider's login and consent
    forms (cookies kept, redirects followed by hand until the redirect URI)."""
    start = (await office.http.get("/workflow/v1/auth/oidc")).json()
    attempt = Attempt(_b64(secrets.token_bytes(32)), _b64(secrets.token_bytes(16)), "s")
    params = {
        "response_type": "code",
        "client_id": start["client_id"],
        "redirect_uri": start["redirect_uri"],
        "scope": start["scope"],
        "state": attempt.state,
        "nonce": attempt.nonce,
        "code_challenge": _b64(hashlib.sha256(attempt.verifier.encode()).digest()),
        "code_challenge_method": "S256",
        "prompt": start["prompt"],
    }
    async with httpx.AsyncClient(timeout=10) as browser:
        answer = await browser.get(start["authorization_endpoint"], params=params)
        for _ in range(12):
            if answer.is_redirect:
                target = urljoin(str(answer.url), answer.headers["location"])
                if target.startswith(start["redirect_uri"]):
                    query = parse_qs(urlsplit(target).query)
                    assert query["state"] == [attempt.state]
                    return query["code"][0], attempt
                answer = await browser.get(target)
                continue
            assert answer.status_code == 200, answer.text
            found = re.search(r'action="([^"]+)"', answer.text)
            assert found, answer.text
            action = urljoin(str(answer.url), unescape(found[1]))
            if 'name="login"' in answer.text:
                form = {"prompt": "login", "login": login, "password": "sandi-di-penyedia"}
            else:
                form = {"prompt": "consent"}
            answer = await browser.post(action, data=form)
    raise AssertionError("the provider never sent the browser back")


async def exchange(office: Office, code: str, attempt: Attempt, **changes: str) -> httpx.Response:
    body = {"code": code, "code_verifier": attempt.verifier, "nonce": attempt.nonce} | changes
    return await office.http.post("/workflow/v1/auth/oidc/token", json=body)


async def test_a_code_gives_a_token_with_the_mapped_roles_once(office: Office) -> None:
    info = (await office.http.get("/workflow/v1/auth")).json()
    assert info["oidc_login"] is True
    code, attempt = await code_for(office, "kabid.sri")
    answer = await exchange(office, code, attempt)
    assert answer.status_code == 200, answer.text
    signed = answer.json()
    assert signed["roles"] == [Role.KABID.value]
    assert signed["name"] == "Sri Wahyuni"
    headers = {"Authorization": f"Bearer {signed['token']}"}
    case = await office.http.get(f"/workflow/v1/cases/{uuid.uuid4()}", headers=headers)
    assert case.status_code == 404  # signed in: the case is unknown, the token is not
    again = await exchange(office, code, attempt)
    assert again.status_code == 401
    assert again.json()["detail"] == oidc.REJECTED


async def test_a_code_without_its_verifier_or_nonce_gives_nothing(office: Office) -> None:
    code, attempt = await code_for(office, "tim.andi")
    other = _b64(secrets.token_bytes(32))
    answer = await exchange(office, code, attempt, code_verifier=other)
    assert answer.status_code == 401  # PKCE: the provider refuses the code
    assert answer.json()["detail"] == oidc.REJECTED

    code, attempt = await code_for(office, "tim.andi")
    answer = await exchange(office, code, attempt, nonce="nonce-dari-tab-lain-0123")
    assert answer.status_code == 401
    assert "nonce" in answer.json()["detail"]


async def test_a_provider_that_rotates_its_key_is_followed_at_once(office: Office) -> None:
    """The provider restarted with a new signing key: the next sign-in reads its keys again."""
    code, attempt = await code_for(office, "kabid.sri")
    assert (await exchange(office, code, attempt)).status_code == 200
    port = int(urlsplit(office.provider.issuer).port or 0)
    await office.stop_provider()
    async with oidc_provider(PUBLIC_URL + oidc.REDIRECT_PATH, office.logs, port=port):
        code, attempt = await code_for(office, "kabid.sri")
        answer = await exchange(office, code, attempt)
        assert answer.status_code == 200, answer.text


async def test_a_public_client_signs_in_with_pkce_alone(settings: Settings, tmp_path: Path) -> None:
    """Without a client secret workflow exchanges the code as a public client: the verifier is
    all that makes a code usable."""
    async with oidc_provider(PUBLIC_URL + oidc.REDIRECT_PATH, tmp_path) as provider:
        configured = settings.model_copy(
            update={"relay": False, "clock": False, "public_url": PUBLIC_URL}
            | provider.settings(public=True)
        )
        app = create_app(configured)
        async with serving(app) as http:
            office = Office(http, provider, tmp_path, contextlib.AsyncExitStack(), app)
            code, attempt = await code_for(office, "tim.andi")
            other = _b64(secrets.token_bytes(32))
            assert (await exchange(office, code, attempt, code_verifier=other)).status_code == 401
            code, attempt = await code_for(office, "tim.andi")
            answer = await exchange(office, code, attempt)
            assert answer.status_code == 200, answer.text
            assert answer.json()["roles"] == [Role.TIM_PENGADUAN.value]


async def test_an_agency_claim_with_roles_per_agency_gives_memberships(
    office: Office, settings: Settings
) -> None:
    """{agency: [the provider's role names]}: a membership per agency this deployment serves."""
    conn = await db.connect(settings)
    try:
        await agencies.save(conn, Agency(id="dinas-a", name="Dinas A"))
    finally:
        await conn.close()
    office.app.state.cases.forget_agencies()  # as the agencies API does when it saves one
    code, attempt = await code_for(office, "dua.dinas")
    answer = await exchange(office, code, attempt)
    assert answer.status_code == 200, answer.text
    signed = answer.json()
    assert (signed["agency"], signed["roles"]) == ("dpmptsp-gresik", ["tim_pengaduan"])
    assert signed["memberships"] == {"dpmptsp-gresik": ["tim_pengaduan"], "dinas-a": ["kabid"]}
    claims = jwt.decode(signed["token"], options={"verify_signature": False})
    assert claims["memberships"] == signed["memberships"]


@pytest.mark.parametrize(
    ("login", "detail"), [("tamu", oidc.NO_ROLE), ("luar.kabid", oidc.OTHER_AGENCY)]
)
async def test_accounts_without_a_role_or_of_another_agency_are_refused(
    office: Office, login: str, detail: str
) -> None:
    code, attempt = await code_for(office, login)
    answer = await exchange(office, code, attempt)
    assert answer.status_code == 403
    assert answer.json()["detail"] == detail


@pytest.mark.parametrize(
    "body",
    [
        {"code": "x", "code_verifier": "pendek", "nonce": "n" * 20},
        {"code": "x", "code_verifier": "v" * 43, "nonce": "n" * 20, "extra": 1},
        {"code": "x" * 3000, "code_verifier": "v" * 43, "nonce": "n" * 20},
        {"code": "x", "code_verifier": "v" * 42 + "!", "nonce": "n" * 20},
    ],
)
async def test_a_malformed_exchange_is_refused_before_the_provider_is_asked(
    office: Office, body: dict[str, Any]
) -> None:
    answer = await office.http.post("/workflow/v1/auth/oidc/token", json=body)
    assert answer.status_code == 422


async def test_the_provider_away_is_a_503_in_plain_words(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "relay": False,
            "clock": False,
            "oidc_issuer": "http://127.0.0.1:9",  # nothing listens there
            "oidc_client_id": "aduan",
        }
    )
    async with serving(create_app(configured)) as http:
        answer = await http.get("/workflow/v1/auth/oidc")
        assert answer.status_code == 503
        assert answer.json()["detail"] == oidc.UNREACHABLE
        body = {"code": "x", "code_verifier": "v" * 43, "nonce": "n" * 20}
        answer = await http.post("/workflow/v1/auth/oidc/token", json=body)
        assert answer.status_code == 503


async def test_without_a_provider_the_sign_in_is_not_offered(settings: Settings) -> None:
    configured = settings.model_copy(update={"relay": False, "clock": False})
    async with serving(create_app(configured)) as http:
        assert (await http.get("/workflow/v1/auth")).json()["oidc_login"] is False
        assert (await http.get("/workflow/v1/auth/oidc")).status_code == 404
        body = {"code": "x", "code_verifier": "v" * 43, "nonce": "n" * 20}
        assert (await http.post("/workflow/v1/auth/oidc/token", json=body)).status_code == 404


def test_roles_come_from_the_configured_claim_through_the_mapping() -> None:
    settings = Settings(oidc_roles_claim="realm_access.roles", oidc_role_map=ROLE_MAP)
    claims = {"realm_access": {"roles": ["aduan-kabid", "kabid", "pegawai", 7]}}
    assert oidc.roles_of(claims, settings) == [Role.KABID]
    assert oidc.roles_of({"realm_access": "kabid"}, settings) == []
    assert oidc.roles_of({"realm_access": {"roles": "aduan-tim-pengaduan"}}, settings) == [
        Role.TIM_PENGADUAN
    ]
    unmapped = Settings(oidc_roles_claim="roles")  # no mapping: the provider uses our names
    assert oidc.roles_of({"roles": ["kabid", "pemohon", "raja"]}, unmapped) == [Role.KABID]


@pytest.mark.parametrize(
    "update",
    [
        {"oidc_issuer": "http://idp.test", "oidc_client_id": ""},
        {"oidc_issuer": "http://idp.test", "oidc_client_id": "a", "auth_jwks_url": "http://x"},
        {"oidc_role_map": {"aduan-warga": "pemohon"}},
        {"oidc_role_map": {"aduan-raja": "raja"}},
    ],
)
def test_a_contradictory_configuration_stops_workflow_at_start(update: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="ADUAN_"):
        oidc.Provider(Settings().model_copy(update=update))
