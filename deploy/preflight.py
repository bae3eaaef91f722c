"""What `make up` and `make test` need on this machine, checked before they start.

`python -m deploy.preflight up|test` prints one line per missing piece, with where it was
looked for and the command that provides it, and exits 1; with everything present it prints
one line and exits 0. Where it can, it sets a piece up itself: the management and the
consistent-hash exchange plugins of a RabbitMQ broker on this machine (`rabbitmq-plugins
enable`, when this user may run it).
`ADUAN_PREFLIGHT_SETUP=0` turns that off.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import httpx
import redis.asyncio as aioredis

from shared.auth import loopback
from shared.settings import Settings
from shared.topology import HASH_PLUGIN

CHROMIUM = Path(os.environ.get("ADUAN_TEST_CHROMIUM", "/usr/bin/chromium"))
"""The browser the page tests drive (Debian's Chromium; Playwright never downloads one)."""
NGINX = Path(os.environ.get("ADUAN_TEST_NGINX", "/usr/sbin/nginx"))
"""The proxy the front-door tests run with deploy/nginx.conf, as docker-compose does."""
PDFTOPPM = Path(os.environ.get("ADUAN_TEST_PDFTOPPM", "/usr/bin/pdftoppm"))
"""What renders the published PDFs to pictures in the tests (Debian's poppler-utils)."""
PROMETHEUS = Path(os.environ.get("ADUAN_TEST_PROMETHEUS", "/usr/bin/prometheus"))
"""The Prometheus the monitoring tests scrape the services with (Debian's, with promtool)."""
DOCKER_COMPOSE = Path(os.environ.get("ADUAN_TEST_DOCKER_COMPOSE", "/usr/bin/docker-compose"))
"""What checks docker-compose.yml in the suite (Debian's docker-compose: `config -q`)."""
OIDC_PROVIDER = Path(__file__).resolve().parents[1] / "tests" / "oidc_provider"
"""The OpenID Connect provider the sign-in tests run (panva's oidc-provider, from npm)."""
CHECK_SECONDS = 5.0
SETUP_SECONDS = 60.0


async def _postgres(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.postgres_dsn("postgres"), timeout=CHECK_SECONDS)
    await conn.close()


async def _rabbitmq(settings: Settings) -> None:
    connection = await aio_pika.connect(settings.rabbitmq_url, timeout=CHECK_SECONDS)
    await connection.close()


async def _management(settings: Settings) -> None:
    api, auth = settings.management_api()
    async with httpx.AsyncClient(auth=auth, timeout=CHECK_SECONDS) as http:
        answer = await http.get(f"{api}/api/overview")
    if answer.status_code != 200:
        raise RuntimeError(f"HTTP {answer.status_code}")


async def _hash_exchange(settings: Settings) -> None:
    """The broker knows the consistent-hash exchange type the consumers' inboxes use."""
    connection = await aio_pika.connect(settings.rabbitmq_url, timeout=CHECK_SECONDS)
    try:
        channel = await connection.channel()
        probe = await channel.declare_exchange(
            "aduan.preflight", aio_pika.ExchangeType.X_CONSISTENT_HASH, auto_delete=True
        )
        await probe.delete()
    finally:
        await connection.close()


async def _redis(settings: Settings) -> None:
    client = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=CHECK_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()


def _program(path: Path) -> Callable[[Settings], Awaitable[None]]:
    async def check(_: Settings) -> None:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):  # noqa: ASYNC240
            raise FileNotFoundError("not installed")

    return check


def _plugin(
    plugin: str, check: Callable[[Settings], Awaitable[None]]
) -> Callable[[Settings], bool]:
    """A setup that switches a broker plugin on, if the broker runs here and this user may;
    then waits until `check` passes."""

    def enable(settings: Settings) -> bool:
        if not _enabled(plugin):
            return False
        deadline = time.monotonic() + SETUP_SECONDS
        while time.monotonic() < deadline:
            if asyncio.run(_failure(check, settings)) is None:
                return True
            time.sleep(0.5)
        return False

    def setup(settings: Settings) -> bool:
        host = urlsplit(settings.rabbitmq_url).hostname or ""
        return (
            loopback(host) and os.environ.get("ADUAN_PREFLIGHT_SETUP") != "0" and enable(settings)
        )

    return setup


def _enabled(plugin: str) -> bool:
    """`rabbitmq-plugins enable` the plugin on this machine's broker; whether it could."""
    tool = shutil.which("rabbitmq-plugins")
    if tool is None:
        return False
    print(f"Switching on the RabbitMQ plugin {plugin} (rabbitmq-plugins enable) ...", flush=True)
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command
            [tool, "enable", "--quiet", plugin],
            capture_output=True,
            timeout=SETUP_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _address(url: str, default_port: int) -> str:
    """Where a server URL points, without its credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or default_port}"


async def _oidc_provider(_: Settings) -> None:
    if not (OIDC_PROVIDER / "node_modules" / "oidc-provider").is_dir():
        raise FileNotFoundError("not installed")


def _install_oidc_provider(_: Settings) -> bool:
    """`npm ci` the provider's pinned packages, when npm is here."""
    npm = shutil.which("npm")
    if npm is None or os.environ.get("ADUAN_PREFLIGHT_SETUP") == "0":
        return False
    print("Installing the test identity provider (npm ci --prefix tests/oidc_provider) ...")
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command
            [npm, "ci", "--prefix", str(OIDC_PROVIDER), "--no-audit", "--no-fund"],
            capture_output=True,
            timeout=10 * SETUP_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@dataclass(frozen=True)
class Need:
    """One thing `make up` or `make test` needs: how to find it and how to provide it."""

    name: str
    where: Callable[[Settings], str]
    check: Callable[[Settings], Awaitable[None]]
    fix: str
    setup: Callable[[Settings], bool] | None = None


SERVERS = (
    Need(
        "PostgreSQL",
        lambda s: f"{s.postgres_host}:{s.postgres_port}",
        _postgres,
        "sudo pg_ctlcluster $(ls /etc/postgresql) main start   "
        "(Debian: apt-get install postgresql)",
    ),
    Need(
        "RabbitMQ",
        lambda s: _address(s.rabbitmq_url, 5672),
        _rabbitmq,
        "sudo rabbitmq-server -detached   (Debian: apt-get install rabbitmq-server)",
    ),
    Need(
        "RabbitMQ management API",
        lambda s: s.management_api()[0],
        _management,
        "sudo rabbitmq-plugins enable rabbitmq_management",
        _plugin("rabbitmq_management", _management),
    ),
    Need(
        "RabbitMQ consistent-hash exchange",
        lambda s: _address(s.rabbitmq_url, 5672),
        _hash_exchange,
        f"sudo rabbitmq-plugins enable {HASH_PLUGIN}",
        _plugin(HASH_PLUGIN, _hash_exchange),
    ),
    Need(
        "Redis",
        lambda s: _address(s.redis_url, 6379),
        _redis,
        'sudo redis-server --daemonize yes --save "" --appendonly no   '
        "(Debian: apt-get install redis-server)",
    ),
)
TOOLS = (
    Need(
        "Chromium (page tests)",
        lambda _: str(CHROMIUM),
        _program(CHROMIUM),
        "sudo apt-get install chromium   (or set ADUAN_TEST_CHROMIUM to a Chromium binary)",
    ),
    Need(
        "nginx (front-door tests)",
        lambda _: str(NGINX),
        _program(NGINX),
        "sudo apt-get install nginx   (or set ADUAN_TEST_NGINX to an nginx binary)",
    ),
    Need(
        "poppler-utils (PDF tests)",
        lambda _: str(PDFTOPPM),
        _program(PDFTOPPM),
        "sudo apt-get install poppler-utils",
    ),
    Need(
        "Prometheus (monitoring tests)",
        lambda _: str(PROMETHEUS),
        _program(PROMETHEUS),
        "sudo apt-get install --no-install-recommends prometheus",
    ),
    Need(
        "OpenID Connect provider (sign-in tests)",
        lambda _: str(OIDC_PROVIDER / "node_modules"),
        _oidc_provider,
        "npm ci --prefix tests/oidc_provider   (Node.js 20.19 or newer with npm)",
        _install_oidc_provider,
    ),
    Need(
        "docker-compose (compose file check)",
        lambda _: str(DOCKER_COMPOSE),
        _program(DOCKER_COMPOSE),
        "sudo apt-get install docker-compose",
    ),
)
NEEDS = {"up": SERVERS, "test": SERVERS + TOOLS}
"""What each command needs."""


async def _failure(check: Callable[[Settings], Awaitable[None]], settings: Settings) -> str | None:
    try:
        await asyncio.wait_for(check(settings), timeout=2 * CHECK_SECONDS)
    except Exception as error:  # noqa: BLE001 - any failure is reported the same way
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return None


async def _failures(needs: tuple[Need, ...], settings: Settings) -> list[str | None]:
    return list(await asyncio.gather(*(_failure(need.check, settings) for need in needs)))


def missing(command: str, settings: Settings) -> list[str]:
    """One line per piece `command` needs that is missing (after setting up what it can)."""
    needs = NEEDS[command]
    lines = []
    for need, failure in zip(needs, asyncio.run(_failures(needs, settings)), strict=True):
        if failure is not None and need.setup is not None and need.setup(settings):
            failure = None
        if failure is not None:
            lines.append(
                f"missing: {need.name} at {need.where(settings)} ({failure})\n    fix: {need.fix}"
            )
    return lines


def main(argv: list[str]) -> int:
    """Check what `make up` or `make test` needs; 0 when all is there."""
    command = argv[0] if argv else "test"
    if command not in NEEDS:
        print(f"usage: python -m deploy.preflight {'|'.join(NEEDS)}", file=sys.stderr)
        return 2
    lines = missing(command, Settings())
    if not lines:
        names = ", ".join(need.name.split(" (")[0] for need in NEEDS[command])
        print(f"make {command}: {names}: all present.")
        return 0
    print(f"make {command} cannot start; missing on this machine:", file=sys.stderr)
    for line in lines:
        print(line, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
