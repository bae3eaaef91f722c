"""Private servers a test starts and owns: its own PostgreSQL 15, RabbitMQ node and Redis, on
free ports, in a temporary directory, never the machine's shared ones.

Each can be stopped cleanly, killed, frozen (SIGSTOP of the server's own processes: connections
stay open, nothing is answered, nothing is reset), thawed and restarted on the same port with
the same data. Waiting is on conditions with a deadline; each start measures how long it took
(`start_seconds`): about 1 s for PostgreSQL (initdb included), 0.1 s for Redis and 5–6 s for a
RabbitMQ node with the management plugin.

The calls block; an async test runs the slow ones (`start`, `stop`, `restart`) with
`asyncio.to_thread`. `freeze` and `thaw` are instant.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

import httpx
import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.settings import Settings
from shared.topology import HASH_PLUGIN
from tests.infrastructure import base_settings, free_port

log = logging.getLogger(__name__)

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"  # PostgreSQL runs as this OS user; its data directory is theirs
PLUGINS = ("rabbitmq_management", HASH_PLUGIN)
"""The plugins a private node runs: those the machine's node runs after the preflight."""
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
START_WITHIN = 60.0
STOP_WITHIN = 30.0
PORT_ATTEMPTS = 3
PORT_TAKEN = ("eaddrinuse", "Address already in use")
"""How each server says that a port it was to listen on is taken (RabbitMQ; PostgreSQL, Redis)."""
S = TypeVar("S", bound="PrivateServer")


class Exited(AssertionError):
    """The server's process ended while it was awaited: no use waiting any longer."""


def until(probe: Callable[[], bool], *, within: float, what: str, interval: float = 0.05) -> None:
    """Call `probe` until it is true; fail at the deadline naming `what` and the last error, or
    at once if the probe says the server exited."""
    deadline = time.monotonic() + within
    last: object = None
    while True:
        try:
            if probe():
                return
        except Exited:
            raise
        except Exception as error:  # noqa: BLE001 - a server still starting: try again
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s (last: {last!r})")
        time.sleep(interval)


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class PrivateServer(ABC):
    """One server process (and what it forks) that this test owns."""

    name = "server"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"aduan-{self.name}-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.started = False  # once started, the port stays
        self.process: subprocess.Popen[bytes] | None = None
        self.frozen = False
        self.start_seconds = 0.0

    @property
    def log_path(self) -> Path:
        """Where the server's own output goes."""
        return self.root / "server.log"

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    @abstractmethod
    def _launch(self) -> subprocess.Popen[bytes]:
        """Start the server process (its own session), output to `log_path`."""

    @abstractmethod
    def _ready(self) -> bool:
        """Whether the server answers as a client would use it."""

    def _stop_signal(self) -> signal.Signals:
        return signal.SIGTERM

    def _frozen_pids(self) -> list[int]:
        """The processes `freeze` stops: the server and everything it forked (PostgreSQL's
        backends lead process groups of their own, so a process group is not enough)."""
        assert self.process is not None
        return descendants(self.process.pid)

    def start(self) -> None:
        """Start the server and wait until it answers; measure how long that took. At its first
        start, a port taken since `free_port` chose it (by another server of the machine, by a
        CLI tool's own port) is chosen again: it is only a port, nothing uses it yet. Later
        starts keep the port: clients know it."""
        for attempt in range(PORT_ATTEMPTS):
            try:
                self._start_once()
                self.started = True
                return
            except AssertionError:
                taken = any(mark in self.log_tail(200) for mark in PORT_TAKEN)
                if self.started or not taken or attempt == PORT_ATTEMPTS - 1:
                    raise
                log.warning("%s: a port was taken meanwhile; choosing others", self.name)
                self.kill()
                self.log_path.unlink(missing_ok=True)
                self._choose_ports()

    def _choose_ports(self) -> None:
        """New free ports for the server (before its first start)."""
        self.port = free_port()

    def _start_once(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        began = time.monotonic()
        self.process = self._launch()
        process = self.process

        def ready() -> bool:
            if process.poll() is not None:
                raise Exited(f"{self.name} exited:\n{self.log_tail()}")
            return self._ready()

        try:
            until(ready, within=START_WITHIN, what=f"{self.name} on port {self.port} ready")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log_tail()}") from None
        self.start_seconds = time.monotonic() - began
        log.info("%s started on port %d in %.2f s", self.name, self.port, self.start_seconds)

    def stop(self) -> None:
        """Stop the server cleanly (its data stays for `start`)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.send_signal(self._stop_signal())
        try:
            self.process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the server and everything it forked, at once."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGSTOP)  # no new children while they are collected
        for pid in self._frozen_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        self.frozen = False

    def freeze(self) -> None:
        """SIGSTOP the server: it keeps every connection, answers nothing, resets nothing.
        The parent first, so that it forks nothing new while its children are stopped."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        for pid in self._frozen_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        """SIGCONT what `freeze` stopped."""
        if not self.frozen or self.process is None:
            return
        for pid in self._frozen_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = False

    def restart(self) -> None:
        """Stop cleanly and start again on the same port with the same data."""
        self.stop()
        self.start()

    def remove(self) -> None:
        """Kill the server (its data is going anyway: no need to wait for a clean stop) and
        delete its directory."""
        try:
            self.kill()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _output(self) -> int:
        return os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces.
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += children.get(current, [])
    return found


class PrivatePostgres(PrivateServer):
    """PostgreSQL 15 run as the `postgres` OS user, trust authentication, on 127.0.0.1."""

    name = "postgres"

    def __init__(self) -> None:
        super().__init__()
        shutil.chown(self.root, OS_USER, OS_USER)
        self.data = self.root / "data"
        self._as_postgres(
            "initdb",
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )

    def _as_postgres(self, program: str, *arguments: str) -> None:
        """Run one of PostgreSQL's programs on the data directory, as the `postgres` OS user."""
        subprocess.run(
            [POSTGRES_BIN / program, "-D", self.data, *arguments],
            cwd=self.root,
            check=True,
            capture_output=True,
            user=OS_USER,
            group=OS_USER,
            extra_groups=[],
        )

    @property
    def dsn(self) -> str:
        """A libpq URL of the server's `postgres` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _launch(self) -> subprocess.Popen[bytes]:
        # The postmaster leads its own process group; its backends stay in it (freeze stops all).
        options = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        arguments = [a for k, v in options.items() for a in ("-c", f"{k}={v}")]
        output = self._output()
        try:
            return subprocess.Popen(
                [POSTGRES_BIN / "postgres", "-D", self.data, "-p", str(self.port), *arguments],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                user=OS_USER,
                group=OS_USER,
                extra_groups=[],
            )
        finally:
            os.close(output)

    def _ready(self) -> bool:
        with psycopg.connect(self.dsn, connect_timeout=1) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def _stop_signal(self) -> signal.Signals:
        return signal.SIGINT  # fast shutdown: connected clients are disconnected, not waited for


class PrivateReplica(PrivatePostgres):
    """A streaming hot standby of a running PrivatePostgres: a base backup of it
    (`pg_basebackup -R`: the standby signal and `primary_conninfo` written), read-only."""

    name = "replica"

    def __init__(self, primary: PrivatePostgres) -> None:
        PrivateServer.__init__(self)
        shutil.chown(self.root, OS_USER, OS_USER)
        self.data = self.root / "data"
        source = f"host=127.0.0.1 port={primary.port} user=postgres"
        self._as_postgres(
            "pg_basebackup",
            "-d",
            source,
            "-R",  # standby.signal and primary_conninfo: a streaming standby
            "--checkpoint=fast",
            "--no-sync",
        )


class PrivateRedis(PrivateServer):
    """redis-server without persistence."""

    name = "redis"

    @property
    def url(self) -> str:
        """The URL for Settings.redis_url."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _launch(self) -> subprocess.Popen[bytes]:
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        arguments += ["--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"]
        output = self._output()
        try:
            return subprocess.Popen(
                ["redis-server", *arguments],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        finally:
            os.close(output)

    def _ready(self) -> bool:
        # No retries: a probe that waits out a silent port for seconds would not see in time that
        # the server exited (a port taken by something that never answers).
        client = redis.Redis(
            port=self.port, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        try:
            return bool(client.ping())
        finally:
            client.close()


class PrivateRabbitMQ(PrivateServer):
    """A second RabbitMQ node (aduan-t-<random>@localhost) with the management plugin.

    It registers with the machine's epmd (shared: never frozen nor stopped), keeps its own
    cookie ($HOME is its directory), database, logs, plugins file and configuration, and
    ignores /etc/rabbitmq (its env file would name the machine's node). `guest` may connect
    from loopback, as on the machine's node."""

    name = "rabbitmq"

    def __init__(self) -> None:
        super().__init__()
        self.node = f"aduan-t-{uuid4().hex[:8]}@localhost"
        self._choose_ports()

    def _choose_ports(self) -> None:
        self.port, self.management_port, self.dist_port = free_port(), free_port(), free_port()
        self.configure()

    def configure(self) -> None:
        """Write the node's files for its ports."""
        (self.root / "enabled_plugins").write_text(f"[{','.join(PLUGINS)}].\n")
        (self.root / "rabbitmq-env.conf").write_text("")
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {self.management_port}\n"
        )

    @property
    def url(self) -> str:
        """The AMQP URL for Settings.rabbitmq_url (the default vhost)."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def management_url(self) -> str:
        """The management API's URL for Settings.rabbitmq_management_url."""
        return f"http://guest:guest@127.0.0.1:{self.management_port}/"

    def _environment(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        return inherited | {
            "HOME": str(self.root),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "node.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _launch(self) -> subprocess.Popen[bytes]:
        # The script runs the node as its child, and stops it cleanly on SIGTERM.
        output = self._output()
        try:
            return subprocess.Popen(
                [RABBITMQ_SERVER],
                cwd=self.root,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        finally:
            os.close(output)

    def _ready(self) -> bool:
        if not accepts(self.port):
            return False
        answer = httpx.get(
            f"http://127.0.0.1:{self.management_port}/api/overview",
            auth=("guest", "guest"),
            timeout=1,
        )
        return answer.status_code == 200

    def beam(self) -> int:
        """The pid of the node's Erlang VM (the script runs it as a child, to pass on signals)."""
        assert self.process is not None
        for pid in descendants(self.process.pid):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == "beam.smp":
                    return pid
        raise AssertionError(f"no beam.smp under {self.process.pid}")

    def freeze(self) -> None:
        """SIGSTOP the node's beam.smp only (epmd is the machine's, shared by every node)."""
        os.kill(self.beam(), signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        """SIGCONT the node's beam.smp."""
        if self.frozen:
            os.kill(self.beam(), signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        """SIGKILL the node and the script around it (its erl_child_setup exits with it)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(AssertionError, ProcessLookupError):
            os.kill(self.beam(), signal.SIGKILL)
        self.process.kill()
        self.process.wait()
        self.frozen = False


def settings_for(
    postgres: PrivatePostgres, rabbitmq: PrivateRabbitMQ, redis_: PrivateRedis
) -> Settings:
    """The test base settings, pointed at these private servers (before create_isolated)."""
    return base_settings().model_copy(
        update={
            "postgres_host": "127.0.0.1",
            "postgres_port": postgres.port,
            "postgres_user": "postgres",
            "rabbitmq_url": rabbitmq.url,
            "rabbitmq_management_url": rabbitmq.management_url,
            "redis_url": redis_.url,
        }
    )


@contextlib.contextmanager
def started(server: S) -> Iterator[S]:
    """`server` running until the block ends, then stopped and removed."""
    try:
        server.start()
        yield server
    finally:
        server.remove()
