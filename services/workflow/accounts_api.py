"""The administrator's officer accounts: create, list, change roles, disable, reset passwords."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool

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
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.sop import Role

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

Roles = Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
AccountName = Annotated[
    str, Path(max_length=50, pattern=r"^[a-z0-9._-]+$", description="Nama pengguna")
]


class AccountOut(BaseModel):
    """An officer's account as the administrator sees it (never the password)."""

    username: str
    name: str
    roles: list[Role]
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


class AccountChange(BaseModel):
    """What the administrator changes: the name, the roles, or whether it may sign in."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    roles: Roles | None = None
    disabled: StrictBool | None = None


class PasswordReset(BaseModel):
    """A new password the administrator hands to the officer."""

    model_config = ConfigDict(extra="forbid")

    password: Password


def _admin(officer: Officer, settings: Settings) -> None:
    password_login_or_404(settings)
    if not officer.has(Role.ADMIN):
        raise Forbidden("Hanya administrator yang dapat mengelola akun petugas.")


def _officer_roles_only(roles: list[Role] | None) -> None:
    if roles is not None and not set(roles) <= set(officer_roles()):
        error = {"field": "roles", "code": "role", "message": "Peran ini bukan peran petugas."}
        raise Problem(422, "Periksa kembali: roles.", code="validation", errors=[error])


@router.get("", responses=problems(401, 403, 404, 503))
async def list_accounts(
    officer: CurrentOfficer, pool: PoolDep, issuer: IssuerDep
) -> list[AccountOut]:
    """Every officer's account."""
    _admin(officer, issuer.settings)
    return [AccountOut.of(account) for account in await accounts.listing(pool)]


@router.post("", status_code=201, responses=problems(401, 403, 404, 409, 422, 503))
async def create_account(
    body: AccountIn, officer: CurrentOfficer, pool: PoolDep, issuer: IssuerDep
) -> AccountOut:
    """Create an officer's account with a first password."""
    _admin(officer, issuer.settings)
    _officer_roles_only(body.roles)
    accounts.refuse_weak(body.username, body.password, "password")
    account = await accounts.create(
        pool,
        issuer.settings,
        username=body.username,
        name=body.name,
        roles=body.roles,
        password=body.password,
    )
    return AccountOut.of(account)


@router.patch("/{username}", responses=problems(401, 403, 404, 409, 422, 503))
async def change_account(
    username: AccountName,
    body: AccountChange,
    officer: CurrentOfficer,
    pool: PoolDep,
    issuer: IssuerDep,
) -> AccountOut:
    """Change an account's name or roles, or disable or enable it."""
    _admin(officer, issuer.settings)
    _officer_roles_only(body.roles)
    losing_admin = body.disabled or (body.roles is not None and Role.ADMIN not in body.roles)
    if username == officer.id and losing_admin:
        raise Problem(
            409,
            "Anda tidak dapat menonaktifkan akun sendiri atau melepas peran administrator sendiri.",
            code="own-account",
        )
    changes = body.model_dump(exclude_none=True)
    return AccountOut.of(await accounts.update(pool, username, changes))


@router.post("/{username}/password", responses=problems(401, 403, 404, 422, 503))
async def reset_password(
    username: AccountName,
    body: PasswordReset,
    officer: CurrentOfficer,
    pool: PoolDep,
    issuer: IssuerDep,
) -> AccountOut:
    """Set a new password for an officer (and lift a lockout)."""
    _admin(officer, issuer.settings)
    accounts.refuse_weak(username, body.password, "password")
    return AccountOut.of(await accounts.set_password(pool, username, body.password))
