"""The administrator's officer accounts: create, list, change roles, disable, reset passwords.

An account acts in one agency (`agency`, with its `roles` there) and may belong to others
(`memberships`: {agency: [roles]}; `*` is the province: every agency). An administrator manages
the accounts of the agencies they administer, and grants roles only in those.
"""

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from redis.exceptions import RedisError

from services.workflow import accounts
from services.workflow.auth_api import (
    IssuerDep,
    Name,
    Password,
    PoolDep,
    Username,
    officer_roles,
    password_login_or_404,
)
from services.workflow.cases import Cases
from shared import db
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.sop import PROVINCE, PROVINCE_ROLES, PROVINCE_WIDE_ROLES, ROLE_LABELS, Role

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

Roles = Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
MemberOf = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z0-9][a-z0-9-]{1,62})$")]
"""An agency id, or `*`: the province (every agency)."""
Memberships = Annotated[dict[MemberOf, Roles], Field(max_length=100)]
AccountName = Annotated[
    str, Path(max_length=50, pattern=r"^[a-z0-9._-]+$", description="Nama pengguna")
]


class AccountOut(BaseModel):
    """An officer's account as the administrator sees it (never the password)."""

    username: str
    name: str
    roles: list[Role]
    agency: str
    memberships: dict[str, list[Role]]
    disabled: bool
    locked_until: datetime | None
    password_changed_at: datetime

    @classmethod
    def of(cls, account: accounts.Account) -> "AccountOut":
        """The view of an account."""
        locked = account.locked_until
        return cls(
            username=account.username,
            name=account.name,
            roles=account.roles,
            agency=account.agency,
            memberships=account.memberships,
            disabled=account.disabled,
            locked_until=locked if locked and locked > datetime.now(locked.tzinfo) else None,
            password_changed_at=account.password_changed_at,
        )


class AccountIn(BaseModel):
    """A new officer's account."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    name: Name
    roles: Roles
    password: Password
    # The agency it acts in; None: the creator's, if it is the only one they belong to.
    agency: MemberOf | None = None
    memberships: Memberships = Field(default_factory=dict)


class AccountChange(BaseModel):
    """What the administrator changes: the name, the roles, or whether it may sign in."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    roles: Roles | None = None
    agency: MemberOf | None = None
    memberships: Memberships | None = None
    disabled: StrictBool | None = None


class PasswordReset(BaseModel):
    """A new password the administrator hands to the officer."""

    model_config = ConfigDict(extra="forbid")

    password: Password


def _admin(officer: Officer, settings: Settings) -> None:
    password_login_or_404(settings)
    if not officer.has(Role.ADMIN):
        raise Forbidden("Hanya administrator yang dapat mengelola akun petugas.")


def _officer_roles_only(roles: list[Role] | None, field: str = "roles") -> None:
    if roles is not None and not set(roles) <= set(officer_roles()):
        error = {"field": field, "code": "role", "message": "Peran ini bukan peran petugas."}
        raise Problem(422, f"Periksa kembali: {field}.", code="validation", errors=[error])


def roles_fit(agency: str, roles: Iterable[Role] | None, field: str) -> None:
    """422 for a role where it cannot be held: the coordinator's only in the province ('*'),
    and in the province only the roles meant to reach every agency."""
    held = set(roles or ())
    if agency == PROVINCE:
        misplaced = held - PROVINCE_WIDE_ROLES
        allowed = ", ".join(sorted(ROLE_LABELS[role] for role in PROVINCE_WIDE_ROLES))
        message = f"Di instansi provinsi ('*') hanya dapat dipegang peran {allowed}."
    else:
        misplaced = held & PROVINCE_ROLES
        message = "Peran pengelola induk hanya dapat dipegang pada instansi provinsi ('*')."
    if misplaced:
        error = {"field": field, "code": "role", "message": message}
        raise Problem(422, message, code="validation", errors=[error])


def _agency_of_new(officer: Officer, asked: str | None) -> str:
    """The agency a new account acts in: the one asked for; unnamed, the creator's own when it
    is the only one they belong to (never the province: that would reach every agency)."""
    if asked:
        return asked
    belongs = {officer.agency, *(member_of for member_of, _ in officer.memberships)}
    if officer.agency != PROVINCE and belongs == {officer.agency}:
        return officer.agency
    message = "Pilih instansi akun ini."
    error = {"field": "agency", "code": "required", "message": message}
    raise Problem(422, message, code="validation", errors=[error])


def _administers(officer: Officer, agency: str) -> bool:
    return Role.ADMIN in officer.roles_in(agency)


async def _may_grant(
    request: Request,
    officer: Officer,
    agency: str | None,
    memberships: dict[str, list[Role]] | None,
) -> None:
    """422 for an agency the deployment does not serve or a role no officer holds; 403 for
    an agency the administrator does not administer."""
    cases: Cases = request.app.state.cases
    known = {*await cases.known_agencies(), PROVINCE}
    granted = ([agency] if agency else []) + list(memberships or {})
    for member_of in granted:
        if member_of not in known:
            message = f"Instansi '{member_of}' tidak terdaftar."
            error = {"field": "memberships", "code": "unknown-agency", "message": message}
            raise Problem(422, message, code="validation", errors=[error])
        if not _administers(officer, member_of):
            raise Forbidden(f"Anda bukan administrator instansi '{member_of}'.")
    for member_of, roles in (memberships or {}).items():
        _officer_roles_only(roles, "memberships")
        roles_fit(member_of, roles, "memberships")


async def _managed(pool: db.Prompt, officer: Officer, username: str) -> accounts.Account:
    """An account the officer administers: of an agency they administer (404 otherwise: not
    theirs to see), and whose every membership is in an agency they administer too (403
    otherwise: changing it, or its password, would reach into agencies not theirs)."""
    account = await accounts.get(pool, username)
    if not _administers(officer, account.agency):
        raise accounts.unknown_account()
    for member_of in account.memberships:
        if not _administers(officer, member_of):
            raise Forbidden(f"Akun ini juga anggota instansi '{member_of}' yang tidak Anda kelola.")
    return account


@router.get("", responses=problems(401, 403, 404, 503))
async def list_accounts(
    officer: CurrentOfficer, pool: PoolDep, issuer: IssuerDep
) -> list[AccountOut]:
    """Every officer's account."""
    _admin(officer, issuer.settings)
    return [
        AccountOut.of(account)
        for account in await accounts.listing(pool)
        if _administers(officer, account.agency)
    ]


@router.post("", status_code=201, responses=problems(401, 403, 404, 409, 422, 503))
async def create_account(
    body: AccountIn, officer: CurrentOfficer, pool: PoolDep, issuer: IssuerDep, request: Request
) -> AccountOut:
    """Create an officer's account with a first password."""
    _admin(officer, issuer.settings)
    _officer_roles_only(body.roles)
    agency = _agency_of_new(officer, body.agency)
    roles_fit(agency, body.roles, "roles")
    await _may_grant(request, officer, agency, body.memberships)
    accounts.refuse_weak(body.username, body.password, "password")
    account = await accounts.create(
        pool,
        issuer.settings,
        username=body.username,
        name=body.name,
        roles=body.roles,
        password=body.password,
        agency=agency,
        memberships=body.memberships,
    )
    return AccountOut.of(account)


@router.patch("/{username}", responses=problems(401, 403, 404, 409, 422, 503))
async def change_account(
    username: AccountName,
    body: AccountChange,
    officer: CurrentOfficer,
    pool: PoolDep,
    issuer: IssuerDep,
    request: Request,
) -> AccountOut:
    """Change an account's name, roles, agency or memberships, or disable or enable it."""
    _admin(officer, issuer.settings)
    _officer_roles_only(body.roles)
    account = await _managed(pool, officer, username)
    agency = body.agency or account.agency
    roles_fit(agency, body.roles or account.roles, "roles")
    await _may_grant(request, officer, body.agency, body.memberships)
    losing_admin = body.disabled or (body.roles is not None and Role.ADMIN not in body.roles)
    if username == officer.id and losing_admin:
        raise Problem(
            409,
            "Anda tidak dapat menonaktifkan akun sendiri atau melepas peran administrator sendiri.",
            code="own-account",
        )
    changes = body.model_dump(exclude_none=True)
    if not (changes.keys() & TOKEN_CLAIMS or body.disabled):
        return AccountOut.of(await accounts.update(pool, username, changes))
    await _revoke(request, username)
    changed = await accounts.update(pool, username, changes)
    await _revoke(request, username, again=True)
    return AccountOut.of(changed)


TOKEN_CLAIMS = frozenset({"roles", "agency", "memberships"})
"""What a token says of its account: changed, the account's earlier tokens count no more."""


async def _revoke(request: Request, username: str, *, again: bool = False) -> None:
    """The account's tokens issued until now refused from now on, by every service: before
    the change is made (a change made without it would leave them counting), and `again`
    after it (a sign-in between the two read the account as it was)."""
    try:
        await request.app.state.revocations.revoke(username)
    except (RedisError, OSError) as error:
        log.warning("cannot mark the tokens of an account as revoked: %s", error)
        if again:  # the change is made; the mark before it holds all but that moment
            return
        detail = (
            "Perubahan akun belum dapat diterapkan (token lama tidak dapat dicabut); coba lagi."
        )
        raise Problem(503, detail, code="revocation-unavailable") from None


@router.post("/{username}/password", responses=problems(401, 403, 404, 422, 503))
async def reset_password(
    username: AccountName,
    body: PasswordReset,
    officer: CurrentOfficer,
    pool: PoolDep,
    issuer: IssuerDep,
    request: Request,
) -> AccountOut:
    """Set a new password for an officer (and lift a lockout); the tokens the account holds
    count no more."""
    _admin(officer, issuer.settings)
    await _managed(pool, officer, username)
    accounts.refuse_weak(username, body.password, "password")
    await _revoke(request, username)
    changed = await accounts.set_password(pool, username, body.password)
    await _revoke(request, username, again=True)
    return AccountOut.of(changed)
