"""`make up`: check the servers, start the three services and the gateway, keep them running.

Each service is its own process on its own port, started with the same command the
Docker image runs (`python -m services.<name>`); the gateway puts them behind one origin.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import aio_pika
import asyncpg
import httpx
import redis.asyncio as aioredis

from shared.auth import loopback
from shared.db import ensure_database
from shared.settings import SERVICES, Settings

START_HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "RabbitMQ": "rabbitmq-server -detached",
    "Redis": 'redis-server --daemonize yes --port 6379 --save "" --appendonly no',
}


@dataclass(frozen=True)
class Unreachable:
    """A server `make up` needs that did not answer."""

    server: str
    address: str
    error: str

    def advice(self) -> str:
        """Which server, where, why, and how to start it."""
        return (
            f"{self.server} is not reachable at {self.address} ({self.error}).\n"
            f"  Start it with:  {START_HINTS[self.server]}\n"
            f"  or with Docker: docker compose up -d {self.server.lower()}"
        )


async def _check_postgres(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.postgres_dsn("postgres"), timeout=5)
    await conn.close()


async def _check_rabbitmq(settings: Settings) -> None:
    connection = await aio_pika.connect(settings.rabbitmq_url, timeout=5)
    await connection.close()


async def _check_redis(settings: Settings) -> None:
    client = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def unreachable_servers(settings: Settings) -> list[Unreachable]:
    """Every server that does not answer, with the address it was tried at."""
    checks = {
        "PostgreSQL": (
            _check_postgres,
            f"{settings.postgres_host}:{settings.postgres_port}",
        ),
        "RabbitMQ": (_check_rabbitmq, settings.rabbitmq_url.rsplit("@", 1)[-1]),
        "Redis": (_check_redis, settings.redis_url.rsplit("@", 1)[-1]),
    }
    problems = []
    for server, (check, address) in checks.items():
        try:
            await asyncio.wait_for(check(settings), timeout=10)
        except Exception as error:  # noqa: BLE001 - any failure is reported the same way
            problems.append(Unreachable(server, address, str(error) or type(error).__name__))
    return problems


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _processes() -> dict[str, list[str]]:
    commands = {name: [sys.executable, "-m", f"services.{name}"] for name in SERVICES}
    commands["gateway"] = [sys.executable, "-m", "deploy.gateway"]
    return commands


def _wait_ready(settings: Settings, children: dict[str, subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + 60
    pending = set(SERVICES)
    while pending and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return False
        for service in list(pending):
            url = f"http://127.0.0.1:{settings.port(service)}/readyz"
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    pending.discard(service)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    return not pending


def _banner(settings: Settings) -> str:
    origin = f"http://127.0.0.1:{settings.gateway_port}"
    lines = [
        "",
        f"Aduan is running at {origin}",
        f"  pages      {origin}/  (officers: {origin}/petugas/masuk, dashboard: {origin}/dasbor)",
        *(
            f"  {service:<10} {origin}/{service}/docs  (own port {settings.port(service)})"
            for service in SERVICES
        ),
        "",
        "Try it:",
        f"  curl -s -X POST {origin}/intake/v1/complaints -H 'Content-Type: application/json' \\",
        '       -d \'{"text": "Izin usaha saya belum selesai setelah tiga minggu."}\'',
        f"  curl -s '{origin}/reporting/v1/rekap?year={time.localtime().tm_year}'",
        "",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def environment(settings: Settings) -> dict[str, str]:
    """The processes' environment: the demo login on (unless told otherwise) on loopback only."""
    env = dict(os.environ)
    if loopback(settings.bind_host):
        # One's own machine: the login page also offers a name and a role, without password.
        env.setdefault("ADUAN_AUTH_DEMO_LOGIN", "true")
    return env


def main() -> int:
    """Start everything; return the exit status."""
    settings = Settings()
    problems = asyncio.run(unreachable_servers(settings))
    for problem in problems:
        print(problem.advice(), file=sys.stderr)
    if problems:
        return 1
    ports = {name: settings.port(name) for name in SERVICES} | {"gateway": settings.gateway_port}
    taken = [f"{name} ({port})" for name, port in ports.items() if _port_taken("127.0.0.1", port)]
    if taken:
        print(
            f"Port already in use: {', '.join(taken)}. Is Aduan already running?", file=sys.stderr
        )
        return 1
    asyncio.run(ensure_database(settings))
    env = environment(settings)
    children = {
        name: subprocess.Popen(cmd, env=env)  # noqa: S603
        for name, cmd in _processes().items()
    }
    signal.signal(signal.SIGTERM, lambda *_: _stop(children))
    try:
        if not _wait_ready(settings, children):
            print("Aduan did not start; see the messages above.", file=sys.stderr)
            return 1
        print(_banner(settings), flush=True)
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        stopped = [name for name, child in children.items() if child.poll() is not None]
        print(f"Stopped: {', '.join(stopped)}.", file=sys.stderr)
        return 0 if all(child.returncode == 0 for child in children.values()) else 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(children)


if __name__ == "__main__":
    sys.exit(main())
