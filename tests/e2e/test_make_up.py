"""Acceptance: `make up` starts everything, and the README's example works against it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

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


@pytest.fixture
async def make_up(settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """`make up` as a user runs it, on this test's database, vhost and ports."""
    settings = with_free_ports(settings)
    log = (tmp_path / "make-up.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        "make",
        "up",
        cwd=ROOT,
        env=os.environ | environment(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    async def announced() -> bool:
        if process.returncode is not None:
            raise AssertionError((tmp_path / "make-up.log").read_text())
        return "Aduan is running at" in (tmp_path / "make-up.log").read_text()

    try:
        await eventually(announced, within=60, interval=0.2)
        yield settings
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
        log.close()


async def test_the_readme_example_works_against_make_up(make_up: Settings) -> None:
    origin = f"http://127.0.0.1:{make_up.gateway_port}"
    complaint, consultation, rekap, track = [
        command.replace(README_ORIGIN, origin) for command in readme_commands()
    ]
    code = json.loads(await shell(complaint))["tracking_code"]
    assert json.loads(await shell(consultation))["tracking_code"] != code

    async def both_counted() -> bool:
        return bool(json.loads(await shell(rekap))["total"] == 2)

    assert await eventually(both_counted, within=15)
    tracking = re.sub(r"track/[\w-]+", f"track/{code}", track)

    async def opened() -> dict[str, str] | None:
        answer: dict[str, str] = json.loads(await shell(tracking))
        return answer if answer["status"] == "in_progress" else None

    answer = await eventually(opened, within=15)
    assert answer is not None
    assert answer["tracking_code"] == code
    assert answer["current_step"] == "identification"


async def test_make_up_names_the_server_it_cannot_reach(settings: Settings) -> None:
    settings = with_free_ports(settings)
    env = os.environ | environment(settings)
    env["ADUAN_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    process = await asyncio.create_subprocess_exec(
        "make", "up", cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode != 0
    assert "Redis is not reachable" in out.decode()
    assert "redis-server" in out.decode()
    assert "PostgreSQL is not reachable" not in out.decode()
