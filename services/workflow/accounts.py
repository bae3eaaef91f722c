"""Officer accounts of the built-in issuer: argon2 password hashes and lockout, in PostgreSQL.

For an office without an identity provider. The first administrator is made on the command
line (`python -m services.workflow officer add`); the administrator makes the rest on
/petugas/akun. Failed attempts and the lockout are kept in the account's row, so they hold
across restarts and every workflow process.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared import db
from shared.problems import Problem
from shared.settings import Settings
from shared.sop import Role

TABLE = "workflow.officers"
ATTEMPTS = "workflow.sign_in_attempts"  # per client address and minute: password spraying
_HASHER = PasswordHasher()
# Verified when the username is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("no account has this password")
WRONG = "Nama pengguna atau kata sandi salah."

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    username text PRIMARY KEY,
    name text NOT NULL,
    roles text[] NOT NULL,
    agency text NOT NULL,
    password_hash text NOT NULL,
    disabled boolean NOT NULL DEFAULT false,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS memberships jsonb NOT NULL DEFAULT '{{}}';
CREATE TABLE IF NOT EXISTS {ATTEMPTS} (
    address text NOT NULL,
    minute timestamptz NOT NULL,
    count integer NOT NULL,
    PRIMARY KEY (address, minute)
)"""

Conn: TypeAlias = db.Connection | db.Pool | db.Prompt


@dataclass(frozen=True)
class Account:
    """An officer's account, without its password hash."""

    username: str
    name: str
    roles: list[Role]  # in `agency`, the agency the officer signs in to act in
    agency: str
    disabled: bool
    locked_until: datetime | None
    password_changed_at: datetime
    memberships: dict[str, list[Role]]  # the other agencies they belong to: the roles in each

    @classmethod
    def of(cls, row: asyncpg.Record) -> Account:
        """The account a row holds."""
        return cls(
            username=row["username"],
            name=row["name"],
            roles=[Role(role) for role in row["roles"]],
            agency=row["agency"],
            memberships=_roles_by_agency(json.loads(row["memberships"])),
            disabled=row["disabled"],
            locked_until=row["locked_until"],
            password_changed_at=row["password_changed_at"],
        )


def _roles_by_agency(stored: dict[str, list[str]]) -> dict[str, list[Role]]:
    return {agency: [Role(role) for role in roles] for agency, roles in stored.items()}


def _stored(memberships: dict[str, list[Role]]) -> str:
    return json.dumps(
        {agency: [Role(r).value for r in roles] for agency, roles in memberships.items()}
    )


async def ensure_table(settings: Settings) -> None:
    """Create the accounts table if it is not there yet."""
    conn = await db.connect(settings)
    try:
        await conn.execute(_CREATE)
    finally:
        await conn.close()


async def _hash(conn: Conn, password: str) -> str:
    """The password's hash, once the store has answered: hashing takes a while, and an
    endpoint must not spend it before finding the store away (it answers 503 within 2 s)."""
    await conn.execute("SELECT 1")
    return await asyncio.to_thread(_HASHER.hash, password)


async def _matches(hashed: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _HASHER.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def _taken() -> Problem:
    error = {"field": "username", "code": "taken", "message": "Nama pengguna sudah dipakai."}
    return Problem(409, "Nama pengguna sudah dipakai.", code="username-taken", errors=[error])


def unknown_account() -> Problem:
    """404 for an account that does not exist."""
    return Problem(404, "Akun tidak ditemukan.", code="unknown-account")


async def create(
    conn: Conn,
    settings: Settings,
    *,
    username: str,
    name: str,
    roles: list[Role],
    password: str,
    agency: str | None = None,
    memberships: dict[str, list[Role]] | None = None,
) -> Account:
    """A new account acting in `agency` (the home agency by default) with `roles`, and
    belonging to other agencies (`memberships`); 409 when the username is taken."""
    hashed = await _hash(conn, password)
    row = await conn.fetchrow(
        f"INSERT INTO {TABLE} (username, name, roles, agency, password_hash, memberships) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING RETURNING *",
        username,
        name,
        [role.value for role in roles],
        agency or settings.agency,
        hashed,
        _stored(memberships or {}),
    )
    if row is None:
        raise _taken()
    return Account.of(row)


async def get(conn: Conn, username: str) -> Account:
    """One account; 404 if there is none."""
    return _updated(await conn.fetchrow(f"SELECT * FROM {TABLE} WHERE username = $1", username))


async def listing(conn: Conn) -> list[Account]:
    """Every account, by username."""
    return [Account.of(row) for row in await conn.fetch(f"SELECT * FROM {TABLE} ORDER BY 1")]


async def update(conn: Conn, username: str, changes: dict[str, Any]) -> Account:
    """Change an account's name, roles, agency, memberships or disabled flag."""
    if "roles" in changes:
        changes["roles"] = [Role(role).value for role in changes["roles"]]
    if "memberships" in changes:
        changes["memberships"] = _stored(changes["memberships"])
    names = ("name", "roles", "agency", "memberships", "disabled")
    columns = [column for column in names if column in changes]
    casts = {"memberships": "::jsonb"}
    sets = (
        ", ".join(f"{column} = ${n}{casts.get(column, '')}" for n, column in enumerate(columns, 2))
        or "name = name"
    )
    row = await conn.fetchrow(
        f"UPDATE {TABLE} SET {sets} WHERE username = $1 RETURNING *",
        username,
        *(changes[column] for column in columns),
    )
    return _updated(row)


def _updated(row: asyncpg.Record | None) -> Account:
    """The account an UPDATE ... RETURNING changed; 404 if there was none."""
    if row is None:
        raise unknown_account()
    return Account.of(row)


async def set_password(conn: Conn, username: str, password: str) -> Account:
    """A new password (an administrator's reset or the officer's change); unlocks."""
    row = await conn.fetchrow(
        f"UPDATE {TABLE} SET password_hash = $2, password_changed_at = now(), "
        "failed_attempts = 0, locked_until = NULL WHERE username = $1 RETURNING *",
        username,
        await _hash(conn, password),
    )
    return _updated(row)


async def count_attempt(conn: Conn, settings: Settings, address: str) -> None:
    """Count a sign-in from this address; 429 past settings.rate_ip_per_minute this minute."""
    row = await conn.fetchrow(
        f"INSERT INTO {ATTEMPTS} AS a (address, minute, count) "
        "VALUES ($1, date_trunc('minute', now()), 1) ON CONFLICT (address, minute) "
        "DO UPDATE SET count = a.count + 1 "
        "RETURNING count, ceil(extract(epoch FROM minute + interval '1 minute' - now())) AS left",
        address,
    )
    assert row is not None
    if row["count"] == 1:  # a new minute: forget the old ones
        await conn.execute(f"DELETE FROM {ATTEMPTS} WHERE minute < now() - interval '2 minutes'")
    if row["count"] > settings.rate_ip_per_minute:
        seconds = max(1, int(row["left"]))
        raise Problem(
            429,
            f"Terlalu banyak percobaan masuk dari alamat ini; coba lagi dalam {seconds} detik.",
            code="rate-limited",
            headers={"Retry-After": str(seconds)},
        )


def _locked(until: datetime) -> Problem:
    minutes = max(1, math.ceil((until - datetime.now(UTC)).total_seconds() / 60))
    return Problem(
        423,
        "Akun dikunci sementara karena terlalu banyak percobaan masuk yang salah. "
        f"Coba lagi dalam {minutes} menit atau hubungi administrator.",
        code="account-locked",
        headers={"Retry-After": str(minutes * 60)},
    )


async def _attempt(conn: Conn, settings: Settings, username: str) -> None:
    """Count a password attempt as wrong before it is compared (given back when it is right):
    423 when the account is locked, or as many attempts are under way as may fail (then it is
    locked: so is a count left by an attempt that never ended, or past a lowered limit).
    Counted after the comparison, thirty wrong passwords sent at once were all compared,
    though the account locks after a few."""
    counted = await conn.fetchval(
        f"UPDATE {TABLE} SET failed_attempts = failed_attempts + 1 WHERE username = $1 "
        "AND NOT coalesce(locked_until > now(), false) AND failed_attempts < $2 RETURNING 1",
        username,
        settings.auth_max_failures,
    )
    if counted is None:  # locked; or at the limit with no lock in force: locked now
        until = await conn.fetchval(
            f"UPDATE {TABLE} SET "
            "locked_until = CASE WHEN coalesce(locked_until > now(), false) THEN locked_until "
            "  ELSE now() + make_interval(mins => $3) END, "
            "failed_attempts = CASE WHEN coalesce(locked_until > now(), false) "
            "  THEN failed_attempts ELSE 0 END "
            "WHERE username = $1 AND (coalesce(locked_until > now(), false) "
            "  OR failed_attempts >= $2) RETURNING locked_until",
            username,
            settings.auth_max_failures,
            settings.auth_lockout_minutes,
        )
        raise _locked(until or datetime.now(UTC))


async def _failed(conn: Conn, settings: Settings, username: str) -> Problem:
    """A wrong password (counted already): lock the account when it is one too many."""
    row = await conn.fetchrow(
        f"UPDATE {TABLE} SET "
        "locked_until = CASE WHEN failed_attempts >= $2 "
        "  THEN now() + make_interval(mins => $3) ELSE locked_until END, "
        "failed_attempts = CASE WHEN failed_attempts >= $2 THEN 0 ELSE failed_attempts END "
        "WHERE username = $1 RETURNING locked_until, locked_until > now() AS locked",
        username,
        settings.auth_max_failures,
        settings.auth_lockout_minutes,
    )
    if row is not None and row["locked"]:
        return _locked(row["locked_until"])
    return Problem(401, WRONG, code="wrong-credentials")


async def check(conn: Conn, settings: Settings, username: str, password: str) -> Account:
    """The account these credentials open; 401 wrong, 423 locked, 403 disabled."""
    row = await conn.fetchrow(
        f"SELECT *, locked_until > now() AS locked FROM {TABLE} WHERE username = $1", username
    )
    if row is None:
        await _matches(_DUMMY_HASH, password)
        raise Problem(401, WRONG, code="wrong-credentials")
    if row["locked"]:
        raise _locked(row["locked_until"])
    await _attempt(conn, settings, username)
    if not await _matches(row["password_hash"], password):
        raise await _failed(conn, settings, username)
    await conn.execute(
        f"UPDATE {TABLE} SET failed_attempts = 0, locked_until = NULL WHERE username = $1",
        username,
    )
    if row["disabled"]:
        raise Problem(403, "Akun ini dinonaktifkan. Hubungi administrator.", code="disabled")
    if _HASHER.check_needs_rehash(row["password_hash"]):
        await conn.execute(
            f"UPDATE {TABLE} SET password_hash = $2 WHERE username = $1",
            username,
            await _hash(conn, password),
        )
    return Account.of(row)


def refuse_weak(username: str, password: str, field: str) -> None:
    """422 for a password that repeats the username or is one character over and over."""
    lowered = password.lower()
    if username.lower() in lowered or len(set(password)) < 4:
        message = "Kata sandi terlalu mudah ditebak: jangan memuat nama pengguna atau berulang."
        error = {"field": field, "code": "weak", "message": message}
        raise Problem(422, "Periksa kembali: kata sandi.", code="validation", errors=[error])
