"""python -m services.workflow [serve | token --role ROLE ... | officer add|password ...]

serve (the default) runs the workflow API, its consumer, its clock and its relay.
token prints a bearer token from the built-in issuer, for local runs and scripts.
officer add makes an officer's account (the office's first administrator, typically);
officer password sets a new password (a locked-out last administrator). The password is read
from the terminal, or from the first line of stdin when piped: never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError

from services.workflow import accounts
from services.workflow.accounts_api import MemberOf, roles_fit
from services.workflow.app import create_app
from services.workflow.auth_api import Name, Password, Username
from services.workflow.issuer import Issuer
from shared import db
from shared.auth import REDIS_SECONDS, Revocations
from shared.db import ensure_schema
from shared.problems import Problem, field_error
from shared.redis_client import redis_client
from shared.service import serve
from shared.settings import Settings
from shared.sop import Role


def _token(settings: Settings, args: argparse.Namespace) -> str:
    async def mint() -> str:
        await ensure_schema(settings, "workflow")
        issuer = await Issuer.load(settings)
        roles = [Role(role) for role in args.role]
        subject = args.sub or f"{roles[0].value}-local"
        return issuer.mint(
            subject=subject,
            name=args.name or subject,
            roles=roles,
            minutes=args.minutes,
            agency=args.agency or None,
        )

    return asyncio.run(mint())


def _password() -> str:
    """The new password, typed twice on a terminal or the first line of piped stdin."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Kata sandi baru: ")
    if getpass.getpass("Ulangi kata sandi: ") != first:
        raise Problem(422, "Kedua kata sandi tidak sama.")
    return first


def _officer(settings: Settings, args: argparse.Namespace) -> str:
    roles = [Role(role) for role in args.role] if args.action == "add" else []
    if args.action == "add":  # an agency's role in the province ('*') would reach every agency
        roles_fit(args.agency or settings.agency, roles, "role")
    try:
        password = _checked(Password)(_password())
    except argparse.ArgumentTypeError as error:
        raise Problem(422, f"Kata sandi: {error}") from error
    accounts.refuse_weak(args.username, password, "password")

    async def run() -> accounts.Account:
        await ensure_schema(settings, "workflow")
        await accounts.ensure_table(settings)
        conn = await db.connect(settings)
        try:
            if args.action == "password":  # as the administrator's reset: its tokens end
                changed = await accounts.set_password(conn, args.username, password)
                await _revoke(settings, args.username)
                return changed
            return await accounts.create(
                conn,
                settings,
                username=args.username,
                name=args.name,
                roles=roles,
                password=password,
                agency=args.agency or None,
            )
        finally:
            await conn.close()

    account = asyncio.run(run())
    return f"Akun {account.username} ({', '.join(r.value for r in account.roles)}) siap."


async def _revoke(settings: Settings, username: str) -> None:
    """End the account's tokens; with Redis away, said, and the new password set anyway (a
    locked-out last administrator must get in)."""
    redis = redis_client(settings, REDIS_SECONDS, REDIS_SECONDS)
    try:
        await Revocations(settings, redis).revoke(username)
    except (RedisError, OSError) as error:
        print(f"Peringatan: token lama akun ini tetap berlaku sampai kedaluwarsa ({error}).")
    finally:
        await redis.aclose()


def _checked(kind: Any) -> Callable[[str], str]:
    """An argparse type that validates as the API does (its Indonesian message on error)."""
    adapter: TypeAdapter[str] = TypeAdapter(kind)

    def check(value: str) -> str:
        try:
            return adapter.validate_python(value)
        except ValidationError as error:
            message = field_error(dict(error.errors()[0]))["message"]
            raise argparse.ArgumentTypeError(message) from error

    return check


def _officer_parser(commands: Any) -> None:
    officer = commands.add_parser("officer", help="officer accounts of the built-in issuer")
    actions = officer.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create an account (password from the terminal/stdin)")
    add.add_argument("--username", required=True, type=_checked(Username))
    add.add_argument("--name", required=True, type=_checked(Name))
    roles = [role.value for role in Role if role is not Role.PEMOHON]
    add.add_argument("--role", action="append", required=True, choices=roles)
    add.add_argument(
        "--agency",
        default=None,
        type=_checked(MemberOf),
        help="the agency it acts in (default: ADUAN_AGENCY); '*' for the province's officers",
    )
    password = actions.add_parser("password", help="set an account's password; lifts a lockout")
    password.add_argument("--username", required=True, type=_checked(Username))


def main(argv: list[str]) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(prog="python -m services.workflow")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (default)")
    token = commands.add_parser("token", help="print an officer token from the built-in issuer")
    token.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
    token.add_argument("--name", default="")
    token.add_argument("--sub", default="", help="officer id (default: <role>-local)")
    token.add_argument("--minutes", type=int, default=None)
    token.add_argument("--agency", default=None, type=_checked(MemberOf), help="'*': the province")
    _officer_parser(commands)
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "token":
        print(_token(settings, args))
        return 0
    if args.command == "officer":
        try:
            print(_officer(settings, args))
        except Problem as problem:
            details = [problem.detail, *(error["message"] for error in problem.errors)]
            print(" ".join(details), file=sys.stderr)
            return 1
        return 0
    serve(create_app(settings), settings, "workflow")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
