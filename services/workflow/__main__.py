"""python -m services.workflow [serve | token --role ROLE ...]

serve (the default) runs the workflow API, its consumer, its clock and its relay.
token prints a bearer token from the built-in issuer, for local runs and scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.workflow.app import create_app
from services.workflow.issuer import Issuer
from shared.db import ensure_schema
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
            subject=subject, name=args.name or subject, roles=roles, minutes=args.minutes
        )

    return asyncio.run(mint())


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
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "token":
        print(_token(settings, args))
        return 0
    serve(create_app(settings), settings, "workflow")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
