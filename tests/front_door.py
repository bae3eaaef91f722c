"""Both front doors of a running office: the gateway of `make up`, and nginx run from Debian's
package with deploy/nginx.conf, as docker-compose runs it.

The nginx configuration is the real one with only what a container gives it replaced: each
upstream's `<service>:<port>` by this test's service port, `listen 80` by a free port, the
mounted web root by this checkout's web/, and nginx's own files (pid, logs, temp) in a tmp dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.preflight import NGINX
from shared.settings import SERVICES, Settings
from tests.infrastructure import free_port
from tests.polling import eventually
from tests.system import System, running

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "deploy" / "nginx.conf"
WEB = ROOT / "web"
CONTAINER_ROOT = "root /usr/share/nginx/html;"
LISTEN = "listen 80;"
CONTAINER_LOG = "access_log /var/log/nginx/access.log aduan;"
DOORS = ("gateway", "nginx")
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def upstream_pattern(service: str) -> re.Pattern[str]:
    """The `server <service>:<port>;` line of a service's upstream block."""
    return re.compile(rf"server {service}:\d+;")


def nginx_conf(settings: Settings, listen: int, files: Path) -> str:
    """deploy/nginx.conf with the container's names, port and paths replaced by this test's."""
    text = CONF.read_text()
    for service in SERVICES:
        text, count = upstream_pattern(service).subn(
            f"server 127.0.0.1:{settings.port(service)};", text
        )
        assert count == 1, f"nginx.conf: no single upstream server for {service}"
    own_log = f"access_log {files / 'access.log'} aduan;"
    for old, new in (
        (LISTEN, f"listen 127.0.0.1:{listen};"),
        (CONTAINER_ROOT, f"root {WEB};"),
        (CONTAINER_LOG, own_log),
    ):
        assert text.count(old) == 1, f"nginx.conf: expected one `{old}`"
        text = text.replace(old, new)
    own = "".join(f"{name}_temp_path {files / name};\n" for name in TEMP_PATHS)
    return text.replace("http {", "http {\n" + own, 1)


def write_conf(settings: Settings, files: Path) -> tuple[int, Path]:
    """The derived configuration written under `files`, with the free port it listens on."""
    files.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = files / "nginx.conf"
    conf.write_text(nginx_conf(settings, port, files))
    return port, conf


@contextlib.asynccontextmanager
async def nginx(settings: Settings, files: Path) -> AsyncIterator[str]:
    """Debian's nginx in the foreground with the derived configuration; yields its origin."""
    port, conf = write_conf(settings, files)
    log = files / "error.log"
    directives = f"daemon off; user root; pid {files / 'nginx.pid'};"
    command = [str(NGINX), "-p", str(files), "-e", str(log), "-c", str(conf), "-g", directives]
    process = await asyncio.create_subprocess_exec(*command)
    origin = f"http://127.0.0.1:{port}"

    async def answers() -> bool:
        if process.returncode is not None:
            raise AssertionError(f"nginx exited:\n{log.read_text(errors='replace')}")
        async with httpx.AsyncClient(timeout=2) as http:
            with contextlib.suppress(httpx.TransportError):
                return (await http.get(f"{origin}/")).status_code == 200
        return False

    try:
        await eventually(answers, within=15, interval=0.1)
        yield origin
    finally:
        if process.returncode is None:
            process.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=10)
        if process.returncode is None:
            process.kill()
            await process.wait()


@dataclass
class FrontDoors:
    """A running office and the origin of each of its front doors."""

    system: System
    origins: dict[str, str]
    nginx_files: Path

    def origin(self, door: str) -> str:
        """The base URL of one front door ("gateway" or "nginx")."""
        return self.origins[door]


@contextlib.asynccontextmanager
async def front_doors(settings: Settings, logs: Path) -> AsyncIterator[FrontDoors]:
    """Intake, workflow and reporting as processes, behind the gateway and behind nginx."""
    async with running(settings, logs) as system:
        await system.start("gateway")
        files = logs / "nginx"
        async with nginx(system.settings, files) as origin:
            origins = {"gateway": system.url("gateway"), "nginx": origin}
            yield FrontDoors(system, origins, files)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer read off the socket."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        """Every value of one header."""
        return [value for key, value in self.headers if key.lower() == name.lower()]


async def exchange(origin: str, request: bytes, *, local: str = "127.0.0.1") -> Answer:
    """Send exactly these bytes (a request with `Connection: close`), read the whole answer."""
    host, port = origin.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=(local, 0))
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=20)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = [tuple(part.strip() for part in line.split(":", 1)) for line in lines]
    return Answer(int(status_line.split()[1]), [(k, v) for k, v in fields], body)


def request_bytes(
    method: str, target: bytes, headers: dict[bytes, bytes] | None = None, body: bytes = b""
) -> bytes:
    """One HTTP/1.1 request with the target exactly as given."""
    fields = {b"Host": b"aduan.test", b"Connection": b"close"} | (headers or {})
    if body:
        fields[b"Content-Length"] = str(len(body)).encode()
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in fields.items())
    return method.encode() + b" " + target + b" HTTP/1.1\r\n" + lines + b"\r\n" + body
