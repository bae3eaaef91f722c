"""Services as the users run them: separate processes on real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.settings import SERVICES, Settings
from tests.infrastructure import environment, free_port
from tests.polling import eventually


def with_free_ports(settings: Settings) -> Settings:
    """The same settings with every service (and the gateway) on a free port."""
    ports = {f"{name}_port": free_port() for name in (*SERVICES, "gateway")}
    return settings.model_copy(update=ports)


@dataclass
class System:
    """Running service processes; each logs to a file under `logs`."""

    settings: Settings
    logs: Path
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    def url(self, service: str) -> str:
        """The base URL of a service's own port."""
        return f"http://127.0.0.1:{self.settings.port(service)}"

    async def start(self, service: str, extra_env: dict[str, str] | None = None) -> None:
        """Start one service (or the gateway) and wait until it is ready (on another port if its
        was taken)."""
        for _ in range(3):
            env = os.environ | environment(self.settings) | (extra_env or {})
            log = (self.logs / f"{service}.log").open("ab")
            module = "deploy.gateway" if service == "gateway" else f"services.{service}"
            self.processes[service] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", module, env=env, stdout=log, stderr=log
            )
            log.close()
            try:
                await self.wait_ready(service)
                return
            except AssertionError:
                if "address already in use" not in self.log_tail(service, 5):
                    raise
                await self.processes[service].wait()
                self.settings = self.settings.model_copy(update={f"{service}_port": free_port()})
        raise AssertionError(f"{service}: no free port")

    async def wait_ready(self, service: str, within: float = 30) -> None:
        """Wait for /readyz; fail with the service's log if it dies or never gets ready."""

        async def ready() -> bool:
            process = self.processes[service]
            if process.returncode is not None:
                raise AssertionError(f"{service} exited:\n{self.log_tail(service)}")
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{self.url(service)}/readyz")).status_code == 200

        try:
            await eventually(ready, within=within, interval=0.1)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log_tail(service)}") from None

    async def stop(self, service: str, *, kill: bool = False) -> None:
        """Stop one service: SIGTERM (graceful) or SIGKILL."""
        process = self.processes.pop(service)
        if process.returncode is None:
            process.kill() if kill else process.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=20)
        if process.returncode is None:
            process.kill()
            await process.wait()

    def log_tail(self, service: str, lines: int = 40) -> str:
        """The end of a service's log."""
        path = self.logs / f"{service}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.asynccontextmanager
async def running(
    settings: Settings, logs: Path, services: Iterable[str] = SERVICES
) -> AsyncIterator[System]:
    """Start services as processes, stop them all at the end."""
    system = System(settings, logs)
    try:
        await asyncio.gather(*(system.start(service) for service in services))
        yield system
    finally:
        await asyncio.gather(*(system.stop(service) for service in list(system.processes)))


def _wait_ready_blocking(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(log.read_text())
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"not ready: {url}\n{log.read_text()}")


@contextlib.contextmanager
def processes(settings: Settings, logs: Path) -> Iterator[None]:
    """The three services as processes, ready, for a module-scoped (synchronous) fixture."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for service in SERVICES:
            log = logs / f"{service}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", f"services.{service}"],
                    env=os.environ | environment(settings),
                    stdout=out,
                    stderr=out,
                )
            started.append(process)
            _wait_ready_blocking(f"http://127.0.0.1:{settings.port(service)}", process, log)
        yield
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=20)
