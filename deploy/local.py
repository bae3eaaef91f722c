"""`make up`: check the servers, start the three services and the gateway, keep them running.

Each service is its own process on its own port, started with the same command the
Docker image runs (`python -m services.<name>`); the gateway puts them behind one origin.
A child that exits is started again after a delay that doubles on each exit in a row (1 s up
to 30 s), with one line on stderr saying which, why and when; a restarted service catches up
by itself (its consumers from their queues, its relay from its outbox). Ctrl-C or SIGTERM
stops every child and ends with status 0.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from deploy import preflight
from shared.auth import loopback
from shared.db import ensure_database
from shared.settings import SERVICES, Settings


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


FIRST_DELAY_SECONDS = 1.0
"""How long a child that exited waits before it is started again; doubled on each exit..."""
LAST_DELAY_SECONDS = 30.0
"""...up to this."""
STEADY_SECONDS = 60.0
"""A child that ran this long before it exited starts again after the first delay."""
POLL_SECONDS = 0.2
STOP_SECONDS = 15.0
"""How long the children have to finish their work when `make up` stops, before a SIGKILL."""
START_SECONDS = 60.0
"""How long the services have to get ready before `make up` gives up."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if `make up` itself dies without stopping it."""
    if sys.platform == "linux":
        PR_SET_PDEATHSIG = 1  # noqa: N806 - the name from <sys/prctl.h>
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _exit_status(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


@dataclass
class Child:
    """One process `make up` keeps running, and when it is due to be started again."""

    name: str
    command: list[str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    exits: int = 0  # exits in a row, each after less than STEADY_SECONDS
    due: float | None = None  # when to start it again, after an exit

    def start(self, env: dict[str, str]) -> None:
        # Its own process group: a terminal's Ctrl-C reaches `make up` only, which then stops
        # the children itself (a child that ended by the same Ctrl-C would look like a crash).
        # Not the terminal's input either: a background group reading it would be stopped.
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            self.command,
            env=env,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_die_with_parent,
        )
        self.started, self.due = time.monotonic(), None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self, now: float) -> float:
        """Note an unexpected exit; the delay before the next start."""
        if now - self.started >= STEADY_SECONDS:
            self.exits = 0
        delay = min(LAST_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0**self.exits)
        self.exits += 1
        self.due = now + delay
        return delay


class Supervisor:
    """Starts the children, starts again (with backoff) the ones that exit, stops them all."""

    def __init__(self, settings: Settings, env: dict[str, str], children: list[Child]) -> None:
        self.settings, self.env, self.children = settings, env, children
        self.stopping = False

    def request_stop(self, *_: object) -> None:
        """The signal handler (Ctrl-C, SIGTERM, SIGHUP): stop at the next look."""
        self.stopping = True

    def start(self) -> None:
        for child in self.children:
            child.start(self.env)

    def tend(self) -> None:
        """Start again what is due; note, with one line on stderr, what exited since."""
        now = time.monotonic()
        for child in self.children:
            if child.due is not None:
                if now >= child.due:
                    child.start(self.env)
            elif child.process is not None and child.process.returncode is None:
                returncode = child.process.poll()
                if returncode is not None:
                    delay = child.exited(now)
                    print(self._exited(child, returncode, delay), file=sys.stderr, flush=True)

    def _exited(self, child: Child, returncode: int, delay: float) -> str:
        why = _exit_status(returncode)
        if _port_taken(self.settings.bind_host, child.port):
            why += f"; its port {child.port} is in use by another process"
        return f"make up: {child.name} exited ({why}); restarting it in {delay:g} s."

    def ready(self) -> bool:
        """Every service answers its /readyz."""
        for service in SERVICES:
            url = f"http://127.0.0.1:{self.settings.port(service)}/readyz"
            try:
                if httpx.get(url, timeout=1).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
        return True

    def stop(self) -> None:
        """SIGTERM to every running child, SIGKILL to any still running after STOP_SECONDS."""
        running = [child.process for child in self.children if child.running()]
        for process in running:
            assert process is not None
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            assert process is not None
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _processes() -> dict[str, list[str]]:
    commands = {name: [sys.executable, "-m", f"services.{name}"] for name in SERVICES}
    commands["gateway"] = [sys.executable, "-m", "deploy.gateway"]
    return commands


def _children(settings: Settings) -> list[Child]:
    """The three services and the gateway, each with the port it listens on."""
    ports = {name: settings.port(name) for name in SERVICES} | {"gateway": settings.gateway_port}
    return [Child(name, command, ports[name]) for name, command in _processes().items()]


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
    problems = preflight.missing("up", settings)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    children = _children(settings)
    taken = [
        f"{child.name} ({child.port})"
        for child in children
        if _port_taken(settings.bind_host, child.port)
    ]
    if taken:
        print(
            f"Port already in use: {', '.join(taken)}. Is Aduan already running?", file=sys.stderr
        )
        return 1
    asyncio.run(ensure_database(settings))
    supervisor = Supervisor(settings, environment(settings), children)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.request_stop)
    supervisor.start()
    try:
        return _supervise(supervisor)
    finally:
        supervisor.stop()


def _supervise(supervisor: Supervisor) -> int:
    """Keep the children running until asked to stop: 0, or 1 if they never got ready."""
    deadline = time.monotonic() + START_SECONDS
    announced = False
    while not supervisor.stopping:
        supervisor.tend()
        if not announced:
            if supervisor.ready():
                print(_banner(supervisor.settings), flush=True)
                announced = True
            elif time.monotonic() > deadline:
                print("Aduan did not start; see the messages above.", file=sys.stderr)
                return 1
        time.sleep(POLL_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
