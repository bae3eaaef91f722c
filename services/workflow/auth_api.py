"""Signing officers in on the built-in issuer: its keys, the password sign-in, the demo login,
and the sign-in at the office's OpenID Connect provider (services/workflow/oidc.py).

An office with an identity provider (ADUAN_AUTH_JWKS_URL or ADUAN_AUTH_PUBLIC_KEYS) signs in
there: then neither the password sign-in nor the demo login is offered. The demo login (a
name and a role, no password) is for `make up` on one's own machine only: it answers only
when it is turned on, the service listens on a loopback address and the caller is local.
"""

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

from services.workflow import accounts, oidc
from services.workflow.issuer import Issuer
from shared import db
from shared.auth import CurrentOfficer, loopback
from shared.problems import Problem, problems
from shared.service import client_address
from shared.settings import Settings
from shared.sop import PROVINCE, ROLE_LABELS, Role
from shared.text import CLEAN

router = APIRouter(prefix="/v1", tags=["auth"])


def _utf8(value: str) -> str:
    try:
        value.encode()
    except UnicodeEncodeError as error:  # a lone surrogate ("\\ud800" in JSON)
        raise PydanticCustomError("unicode", "Teks memuat karakter yang tidak sah.") from error
    return value


UTF8 = AfterValidator(_utf8)
Secret = Annotated[str, StringConstraints(max_length=128), UTF8]
Password = Annotated[str, StringConstraints(min_length=10, max_length=128), UTF8]
Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=50,
        pattern=r"^[A-Za-z0-9._-]+$",
    ),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100), CLEAN, UTF8
]


async def _issuer(request: Request) -> Issuer:
    issuer: Issuer = request.app.state.issuer
    return issuer


async def _pool(request: Request) -> db.Prompt:
    return db.Prompt(request.app.state.pool)  # a store away: 503 at once


IssuerDep = Annotated[Issuer, Depends(_issuer)]
PoolDep = Annotated[db.Prompt, Depends(_pool)]


def officer_roles() -> list[Role]:
    """The roles an officer may hold (every role but the complainant's)."""
    return [role for role in Role if role is not Role.PEMOHON]


def external_issuer(settings: Settings) -> bool:
    """Whether officers sign in at the office's identity provider instead of here."""
    return bool(settings.auth_jwks_url or settings.auth_public_keys)


def password_login_or_404(settings: Settings) -> None:
    """404 when the office signs in at its identity provider."""
    if external_issuer(settings):
        raise Problem(
            404,
            "Login dengan kata sandi tidak dipakai; masuk melalui penyedia identitas instansi.",
            code="login-disabled",
        )


def demo_login(request: Request) -> bool:
    """The demo login: turned on, listening on loopback only, and asked from this machine."""
    settings: Settings = request.app.state.settings
    return (
        settings.auth_demo_login
        and not external_issuer(settings)
        and loopback(settings.bind_host)
        and loopback(client_address(request))
    )


@router.get("/auth/jwks.json")
async def jwks(issuer: IssuerDep) -> dict[str, Any]:
    """The built-in issuer's public keys."""
    return issuer.jwks()


class RoleOut(BaseModel):
    """A role an officer may hold."""

    id: str
    label: str


class AuthInfo(BaseModel):
    """What the login page needs: the roles and which ways of signing in are on."""

    roles: list[RoleOut]
    password_login: bool
    demo_login: bool
    oidc_login: bool


@router.get("/auth")
async def auth_info(request: Request) -> AuthInfo:
    """The roles officers hold, and how officers sign in at this office."""
    settings: Settings = request.app.state.settings
    return AuthInfo(
        roles=[RoleOut(id=role.value, label=ROLE_LABELS[role]) for role in officer_roles()],
        password_login=not external_issuer(settings),
        demo_login=demo_login(request),
        oidc_login=oidc.enabled(settings),
    )


class LoginOut(BaseModel):
    """The bearer token for the session."""

    token: str
    name: str
    roles: list[str]
    expires_in_minutes: int
    agency: str = ""  # the agency the token acts in (its roles are the roles there)
    memberships: dict[str, list[str]] = {}  # every agency the officer belongs to: its roles


def _token(
    issuer: Issuer,
    subject: str,
    name: str,
    roles: list[Role],
    *,
    agency: str | None = None,
    memberships: dict[str, list[Role]] | None = None,
) -> LoginOut:
    """A token acting in `agency` (the home agency by default) with `roles`, listing every
    membership."""
    minutes, agency = issuer.settings.auth_token_minutes, agency or issuer.settings.agency
    held = {**(memberships or {}), agency: roles}
    token = issuer.mint(
        subject=subject, name=name, roles=roles, agency=agency, minutes=minutes, memberships=held
    )
    return LoginOut(
        token=token,
        name=name,
        roles=[role.value for role in roles],
        expires_in_minutes=minutes,
        agency=agency,
        memberships={key: [role.value for role in value] for key, value in held.items()},
    )


class SignIn(BaseModel):
    """An officer's username and password."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=50), CLEAN, UTF8
    ]
    password: Secret


@router.post("/auth/sign-in", responses=problems(401, 403, 404, 422, 423, 429, 503))
async def sign_in(body: SignIn, request: Request, pool: PoolDep, issuer: IssuerDep) -> LoginOut:
    """Sign in with a username and password; a short-lived token."""
    password_login_or_404(request.app.state.settings)
    await accounts.count_attempt(pool, issuer.settings, client_address(request))
    account = await accounts.check(pool, issuer.settings, body.username, body.password)
    return _token(
        issuer,
        account.username,
        account.name,
        account.roles,
        agency=account.agency,
        memberships=account.memberships,
    )


class PasswordChange(BaseModel):
    """The officer's current password and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: Secret
    new_password: Password


@router.post("/auth/password", status_code=204, responses=problems(401, 403, 404, 422, 423, 503))
async def change_password(
    body: PasswordChange, officer: CurrentOfficer, pool: PoolDep, issuer: IssuerDep
) -> None:
    """Change one's own password (the current one is asked again)."""
    password_login_or_404(issuer.settings)
    try:
        await accounts.check(pool, issuer.settings, officer.id, body.current_password)
    except Problem as problem:
        if problem.status != 401:
            raise
        error = {"field": "current_password", "code": "wrong", "message": "Kata sandi salah."}
        raise Problem(
            422, "Kata sandi saat ini salah.", code="wrong-password", errors=[error]
        ) from problem
    accounts.refuse_weak(officer.id, body.new_password, "new_password")
    await accounts.set_password(pool, officer.id, body.new_password)


class LoginIn(BaseModel):
    """Demo login: a name and a role, no password (`make up` on one's own machine only)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    role: Role


@router.post("/auth/login", responses=problems(404, 422))
async def login(body: LoginIn, request: Request, issuer: IssuerDep) -> LoginOut:
    """Demo sign-in by name and role: only for a local run, asked from the same machine."""
    if not demo_login(request):
        raise Problem(
            404,
            "Login demo tidak tersedia di sini; masuk dengan nama pengguna dan kata sandi.",
            code="login-disabled",
        )
    if body.role is Role.PEMOHON:
        error = {"field": "role", "code": "role", "message": "Peran ini bukan peran petugas."}
        raise Problem(422, "Periksa kembali: role.", code="validation", errors=[error])
    subject = f"{body.role.value}-{hashlib.sha256(body.name.lower().encode()).hexdigest()[:12]}"
    if body.role is Role.KOORDINATOR:  # the province's role: it acts across the agencies
        return _token(issuer, subject, body.name, [body.role], agency=PROVINCE)
    return _token(issuer, subject, body.name, [body.role])


def _provider(request: Request) -> oidc.Provider:
    """The office's OpenID Connect provider; 404 when none is configured."""
    if not oidc.enabled(request.app.state.settings):
        raise Problem(
            404, "Masuk melalui penyedia identitas tidak dipakai di kantor ini.", code="oidc-off"
        )
    provider: oidc.Provider = request.app.state.oidc
    return provider


ProviderDep = Annotated[oidc.Provider, Depends(_provider)]


class OidcStart(BaseModel):
    """Where the login page sends the officer (it adds state, nonce and the PKCE challenge)."""

    issuer: str
    authorization_endpoint: str
    client_id: str
    scope: str
    redirect_uri: str
    prompt: str


@router.get("/auth/oidc", responses=problems(404, 503))
async def oidc_start(provider: ProviderDep) -> OidcStart:
    """The provider's authorization endpoint and this office's client there."""
    metadata = await provider.metadata()
    settings = provider.settings
    scopes = settings.oidc_scopes.split()
    return OidcStart(
        issuer=metadata["issuer"],
        authorization_endpoint=metadata["authorization_endpoint"],
        client_id=settings.oidc_client_id,
        scope=" ".join(["openid", *(scope for scope in scopes if scope != "openid")]),
        redirect_uri=oidc.redirect_uri(settings),
        prompt=settings.oidc_prompt,
    )


Verifier = Annotated[
    str, StringConstraints(min_length=43, max_length=128, pattern=r"^[A-Za-z0-9._~-]+$")
]


class OidcCode(BaseModel):
    """What the provider gave the login page back, and what the page kept for the exchange."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(min_length=1, max_length=2048), UTF8]
    code_verifier: Verifier
    nonce: Annotated[str, StringConstraints(min_length=16, max_length=128), UTF8]


@router.post("/auth/oidc/token", responses=problems(401, 403, 404, 422, 429, 503))
async def oidc_token(
    body: OidcCode, request: Request, pool: PoolDep, issuer: IssuerDep, provider: ProviderDep
) -> LoginOut:
    """Exchange the provider's code (PKCE) for a short-lived token with the mapped roles."""
    await accounts.count_attempt(pool, issuer.settings, client_address(request))
    identity = await provider.exchange(body.code, body.code_verifier, body.nonce)
    return _token(
        issuer,
        identity.subject,
        identity.name,
        identity.roles,
        agency=identity.agency,
        memberships=identity.memberships,
    )
