"""Services as the users run them: separate processes on real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
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
    ports: dict[str, int] = field(default_factory=dict)  # of the instances beyond the first
    ready_within: float = 30.0  # how long a process may take to get ready

    def url(self, service: str, instance: int = 0) -> str:
        """The base URL of a service's own port (of one of its processes: `instance`)."""
        port = (
            self.ports[process_name(service, instance)] if instance else self.settings.port(service)
        )
        return f"http://127.0.0.1:{port}"

    async def start(
        self,
        service: str,
        extra_env: dict[str, str] | None = None,
        *,
        instance: int = 0,
        instances: int = 1,
    ) -> None:
        """Start one service (or the gateway) and wait until it is ready (on another port if its
        was taken). A service run as several processes: `instances` of them, this one the
        `instance`-th (its own port; its share of the partitions, docs/partitions.md)."""
        name = process_name(service, instance)
        if instance:
            self.ports.setdefault(name, free_port())
        consumers = (
            {"ADUAN_CONSUMER_INDEX": str(instance), "ADUAN_CONSUMER_COUNT": str(instances)}
            if instances > 1
            else {}
        )
        for _ in range(3):
            port = {f"ADUAN_{service.upper()}_PORT": str(self.ports[name])} if instance else {}
            env = os.environ | environment(self.settings) | consumers | port | (extra_env or {})
            log = (self.logs / f"{name}.log").open("ab")
            module = "deploy.gateway" if service == "gateway" else f"services.{service}"
            self.processes[name] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", module, env=env, stdout=log, stderr=log
            )
            log.close()
            try:
                await self.wait_ready(name)
                return
            except AssertionError:
                if "address already in use" not in self.log_tail(name, 5):
                    raise
                await self.processes[name].wait()
                if instance:
                    self.ports[name] = free_port()
                else:
                    update = {f"{service}_port": free_port()}
                    self.settings = self.settings.model_copy(update=update)
        raise AssertionError(f"{name}: no free port")

    async def wait_ready(self, service: str, within: float | None = None) -> None:
        """Wait for /readyz; fail with the service's log if it dies or never gets ready.
        `service`: a process's name (`workflow`, or `workflow.2` for a further instance)."""
        url = self.url(*instance_of(service))

        async def ready() -> bool:
            process = self.processes[service]
            if process.returncode is not None:
                raise AssertionError(f"{service} exited:\n{self.log_tail(service)}")
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{url}/readyz")).status_code == 200

        try:
            await eventually(ready, within=within or self.ready_within, interval=0.1)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log_tail(service)}") from None

    async def stop(self, service: str, *, kill: bool = False) -> None:
        """Stop one service's process (by its name, as `wait_ready`): SIGTERM or SIGKILL."""
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
    settings: Settings,
    logs: Path,
    services: Iterable[str] = SERVICES,
    instances: Mapping[str, int] | None = None,
    ready_within: float = 30.0,
) -> AsyncIterator[System]:
    """Start services as processes (`instances`: how many of a service, one by default), stop
    them all at the end."""
    system = System(settings, logs, ready_within=ready_within)
    counts = instances or {}
    try:
        await asyncio.gather(
            *(
                system.start(service, instance=i, instances=counts.get(service, 1))
                for service in services
                for i in range(counts.get(service, 1))
            )
        )
        yield system
    finally:
        await asyncio.gather(*(system.stop(service) for service in list(system.processes)))


def process_name(service: str, instance: int) -> str:
    """How a System names a process: the service, then `.i` for any instance but the first."""
    return f"{service}.{instance}" if instance else service


def instance_of(name: str) -> tuple[str, int]:
    """The service and instance a process's name stands for."""
    service, _, instance = name.partition(".")
    return service, int(instance or 0)


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
