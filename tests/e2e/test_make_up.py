"""Acceptance: `make up` starts everything, the README's example works against it, a service
killed under it comes back and catches up by itself, and it stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from shared.settings import Settings
from tests.infrastructure import environment, free_port
from tests.polling import eventually
from tests.system import with_free_ports

ROOT = Path(__file__).resolve().parents[2]
README_ORIGIN = "http://127.0.0.1:8000"


def readme_commands() -> list[str]:
    """The shell commands of the README's 'Try it' section, continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Try it", 1)[1]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    commands = []
    for block in blocks[:2]:
        joined = block.replace("\\\n", " ")
        commands += [line.strip() for line in joined.splitlines() if line.strip()]
    return commands


async def shell(command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        command,
        stdout=subprocess.PIPE,
        env=os.environ | {"TZ": "Asia/Jakarta"},
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, command
    return out.decode()


@dataclass(frozen=True)
class MakeUp:
    """`make up` running: its settings, its process (make) and its output so far."""

    settings: Settings
    process: asyncio.subprocess.Process
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def child(self, module: str) -> int | None:
        """The process id of the process below make running `python -m <module>`, if any."""
        if self.process.returncode is not None:
            raise AssertionError(f"make up ended:\n{self.output()}")
        for pid in descendants(self.process.pid):
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if module.encode() in command:
                    return pid
        return None

    async def stop(self, signum: int, *, to_supervisor_only: bool = False) -> int:
        """Send `signum` to make's process group (as a terminal's Ctrl-C does) or to the
        supervisor alone (as a process manager does); every process below make must be gone
        then, and nothing said of it. Make's exit status."""
        below = descendants(self.process.pid)
        if to_supervisor_only:
            supervisor = self.child("deploy.local")
            assert supervisor is not None, self.output()
            os.kill(supervisor, signum)
        else:
            os.killpg(self.process.pid, signum)
        returncode = await asyncio.wait_for(self.process.wait(), timeout=30)
        # The supervisor's own exit status shows as make's "Error N" when it is not 0.
        assert "make: ***" not in self.output()
        assert "Stopped:" not in self.output()
        assert [pid for pid in below if alive(pid)] == []
        return returncode


def descendants(root: int) -> list[int]:
    """Every process below `root`, read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                parents.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        children = parents.get(pending.pop(), [])
        found += children
        pending += children
    return found


def alive(pid: int) -> bool:
    """The process runs (a zombie no longer does)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
async def make_up(settings: Settings, tmp_path: Path) -> AsyncIterator[MakeUp]:
    """`make up` as a user runs it, on this test's database, vhost and ports; at the end it is
    stopped as a terminal's Ctrl-C stops it and must stop everything, cleanly."""
    # The kill test submits a steady stream from one address: above the per-address limit.
    settings = with_free_ports(settings).model_copy(update={"rate_ip_per_minute": 100_000})
    path = tmp_path / "make-up.log"
    log = path.open("wb")
    process = await asyncio.create_subprocess_exec(
        "make",
        "up",
        cwd=ROOT,
        env=os.environ | environment(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = MakeUp(settings, process, path)

    async def announced() -> bool:
        if process.returncode is not None:
            raise AssertionError(running.output())
        return "Aduan is running at" in running.output()

    try:
        await eventually(announced, within=60, interval=0.2)
        yield running
        if process.returncode is None:
            # make passes a Ctrl-C on: it ends by the same signal, quietly.
            assert await running.stop(signal.SIGINT) in (0, -signal.SIGINT)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
        log.close()


async def test_the_readme_example_works_against_make_up(make_up: MakeUp) -> None:
    origin = f"http://127.0.0.1:{make_up.settings.gateway_port}"
    complaint, consultation, rekap, *track = [
        command.replace(README_ORIGIN, origin) for command in readme_commands()
    ]
    code = json.loads(await shell(complaint))["tracking_code"]
    assert json.loads(await shell(consultation))["tracking_code"] != code

    async def both_counted() -> bool:
        return bool(json.loads(await shell(rekap))["total"] == 2)

    assert await eventually(both_counted, within=15)
    # The README's block sets `kode` to an example: the reader puts their own code there.
    tracking = "\n".join(re.sub(r"^kode=[\w-]+", f"kode={code}", line) for line in track)

    async def opened() -> dict[str, str] | None:
        answer: dict[str, str] = json.loads(await shell(tracking))
        return answer if answer["status"] == "in_progress" else None

    answer = await eventually(opened, within=15)
    assert answer is not None
    assert answer["tracking_code"] == code
    assert answer["current_step"] == "identification"


async def test_make_up_stops_on_sigterm_with_status_0(make_up: MakeUp) -> None:
    assert await make_up.stop(signal.SIGTERM, to_supervisor_only=True) == 0


async def test_the_children_go_when_make_up_itself_is_killed(make_up: MakeUp) -> None:
    below = descendants(make_up.process.pid)
    supervisor = make_up.child("deploy.local")
    assert supervisor is not None
    os.kill(supervisor, signal.SIGKILL)
    await asyncio.wait_for(make_up.process.wait(), timeout=10)

    async def gone() -> bool:
        return not any(alive(pid) for pid in below)

    assert await eventually(gone, within=30)


async def test_make_up_names_the_server_it_cannot_reach(settings: Settings) -> None:
    settings = with_free_ports(settings)
    env = os.environ | environment(settings)
    env["ADUAN_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    process = await asyncio.create_subprocess_exec(
        "make", "up", cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode != 0
    assert "missing: Redis at 127.0.0.1:" in out.decode()
    assert "fix: sudo redis-server" in out.decode()
    assert "missing: PostgreSQL" not in out.decode()


@dataclass
class Submitter:
    """Submits complaints through the gateway one after another, noting each acknowledged
    tracking code under the phase it was acknowledged in."""

    origin: str
    phase: str = "before"
    acknowledged: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    running: bool = True

    async def run(self) -> None:
        """Submit until told to stop; the last request is answered before it returns."""
        async with httpx.AsyncClient(timeout=5) as http:
            number = 0
            while self.running:
                number += 1
                form = {"text": f"Pengaduan nomor {number}: antrean loket terlalu lama."}
                phase = self.phase
                try:
                    answer = await http.post(f"{self.origin}/intake/v1/complaints", json=form)
                except httpx.TransportError:
                    answer = None
                if answer is not None and answer.status_code == 201:
                    self.acknowledged.setdefault(phase, []).append(answer.json()["tracking_code"])
                else:
                    self.refused[phase] = self.refused.get(phase, 0) + 1
                await asyncio.sleep(0.02)  # a steady stream, not a flood

    def count(self, phase: str) -> int:
        return len(self.acknowledged.get(phase, []))

    def codes(self) -> list[str]:
        return [code for codes in self.acknowledged.values() for code in codes]


async def hold_the_relay(conn: asyncpg.Connection, holder: asyncpg.Connection) -> None:
    """Hold intake's relay position row until `holder` closes: the relay publishes one batch
    and then waits to record it, and what intake acknowledges meanwhile stays in its outbox."""
    await holder.execute("BEGIN")
    await holder.execute("SELECT * FROM intake.relay_position FOR UPDATE")

    async def in_the_outbox() -> bool:
        unpublished = await conn.fetchval(
            "SELECT max(notification_id) - (SELECT position FROM intake.relay_position)"
            " FROM intake.submissions_events"
        )
        return bool(unpublished >= 20)

    await eventually(in_the_outbox, within=30)


async def kill(make_up: MakeUp, service: str, *, then: Callable[[], Awaitable[None]]) -> float:
    """SIGKILL a service, do `then`, wait until another process of it is ready: how long that
    took from the kill."""
    victim = make_up.child(f"services.{service}")
    assert victim is not None, make_up.output()
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    await then()

    async def back() -> bool:
        pid = make_up.child(f"services.{service}")
        if pid is None or pid == victim:
            return False
        async with httpx.AsyncClient(timeout=2) as http:
            ready = await http.get(f"http://127.0.0.1:{make_up.settings.port(service)}/readyz")
        return ready.status_code == 200

    await eventually(back, within=30, interval=0.1)
    return time.monotonic() - killed_at


async def counted_once(
    conn: asyncpg.Connection, make_up: MakeUp, codes: list[str]
) -> dict[str, str]:
    """Wait until every acknowledged case is opened by workflow and the rekap counts exactly
    the cases reporting has (one row per tracking code); those cases' statuses."""
    year = datetime.now(ZoneInfo(make_up.settings.timezone)).year
    rekap = f"http://127.0.0.1:{make_up.settings.gateway_port}/reporting/v1/rekap?year={year}"
    last: dict[str, object] = {}  # what was still missing, for the failure message
    async with httpx.AsyncClient(timeout=5) as http:

        async def caught_up() -> dict[str, str] | None:
            rows = await conn.fetch("SELECT tracking_code, status FROM reporting.case_summary")
            statuses = {row["tracking_code"]: row["status"] for row in rows}
            last["not opened"] = [c for c in codes if statuses.get(c) != "in_progress"]
            if last["not opened"]:
                return None
            last["rekap total"], last["cases"] = (await http.get(rekap)).json()["total"], len(rows)
            return statuses if last["rekap total"] == len(rows) else None

        try:
            statuses = await eventually(caught_up, within=60, interval=0.5)
        except AssertionError as error:
            raise AssertionError(f"{error}: {last}") from None
    assert statuses is not None
    return statuses


@pytest.mark.parametrize("service", ["intake", "workflow", "reporting"])
async def test_a_service_killed_under_make_up_comes_back_and_catches_up(
    make_up: MakeUp, service: str
) -> None:
    submitter = Submitter(f"http://127.0.0.1:{make_up.settings.gateway_port}")
    submitting = asyncio.create_task(submitter.run())

    async def acknowledged(phase: str, count: int) -> bool:
        if submitting.done():
            submitting.result()
        return submitter.count(phase) >= count

    conn = await asyncpg.connect(make_up.settings.postgres_dsn())
    holder = await asyncpg.connect(make_up.settings.postgres_dsn())
    try:
        try:
            await eventually(lambda: acknowledged("before", 20), within=30)
            if service == "intake":  # killed with a batch published but not recorded, and more
                await hold_the_relay(conn, holder)
            submitter.phase = "during"
            back_after = await kill(make_up, service, then=holder.close)
            submitter.phase = "after"
            await eventually(lambda: acknowledged("after", 20), within=30)
        except AssertionError as error:
            counts = {phase: len(codes) for phase, codes in submitter.acknowledged.items()}
            raise AssertionError(
                f"{error}; acknowledged {counts}, refused {submitter.refused}"
            ) from None
        finally:
            submitter.running = False
            await submitting
            await holder.close()

        assert back_after < 15, back_after
        said = [line for line in make_up.output().splitlines() if "SIGKILL" in line]
        assert said == [f"make up: {service} exited (killed by SIGKILL); restarting it in 1 s."]
        if service != "intake":  # only intake takes the submissions: the others' were queued
            assert submitter.count("during") > 0, (submitter.acknowledged, submitter.refused)
        codes = submitter.codes()
        statuses = await counted_once(conn, make_up, codes)
        if service == "intake":
            unpublished = await conn.fetchval(
                "SELECT max(notification_id) - (SELECT position FROM intake.relay_position)"
                " FROM intake.submissions_events"
            )
            assert unpublished == 0
    finally:
        await conn.close()
    # Every acknowledged submission is counted once; one whose answer was lost with the
    # killed intake may be counted too (it was stored), never more than those.
    assert len(set(codes)) == len(codes)
    assert len(statuses) - len(codes) <= submitter.refused.get("during", 0)
