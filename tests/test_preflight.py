"""`make test` and `make up` first check what they need: on a machine without a piece, one
screen naming each missing piece, where it was looked for and the command that provides it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.infrastructure import free_port

ROOT = Path(__file__).resolve().parents[1]


def preflight(command: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.preflight", command],
        cwd=ROOT,
        env=os.environ | environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stand_in(tmp_path: Path, name: str, status: int) -> Path:
    """A program that records its arguments and exits with `status`."""
    program = tmp_path / name
    program.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/{name}.calls"\nexit {status}\n')
    program.chmod(0o755)
    return program


def test_every_missing_piece_is_one_line_with_its_fix(tmp_path: Path) -> None:
    closed = free_port()
    plugins = stand_in(tmp_path, "rabbitmq-plugins", 1)  # this user may not enable plugins
    nginx = stand_in(tmp_path, "nginx", 0)
    done = preflight(
        "test",
        ADUAN_RABBITMQ_MANAGEMENT_URL=f"http://guest:guest@127.0.0.1:{closed}/",
        ADUAN_TEST_CHROMIUM=str(tmp_path / "no-chromium"),
        ADUAN_TEST_NGINX=str(nginx),
        ADUAN_TEST_DOCKER_COMPOSE=str(stand_in(tmp_path, "docker-compose", 0)),
        ADUAN_TEST_PDFTOPPM=str(stand_in(tmp_path, "pdftoppm", 0)),
        ADUAN_TEST_PROMETHEUS=str(stand_in(tmp_path, "prometheus", 0)),
        PATH=f"{plugins.parent}:{os.environ['PATH']}",
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines == [
        "make test cannot start; missing on this machine:",
        f"missing: RabbitMQ management API at http://127.0.0.1:{closed} "
        "(All connection attempts failed)",
        "    fix: sudo rabbitmq-plugins enable rabbitmq_management",
        f"missing: Chromium (page tests) at {tmp_path / 'no-chromium'} (not installed)",
        "    fix: sudo apt-get install chromium   "
        "(or set ADUAN_TEST_CHROMIUM to a Chromium binary)",
    ]
    # It tried to switch the plugin on itself before saying so.
    calls = (tmp_path / "rabbitmq-plugins.calls").read_text().split()
    assert calls == ["enable", "--quiet", "rabbitmq_management"]


def test_make_up_needs_the_servers_but_no_browser(tmp_path: Path) -> None:
    done = preflight("up", ADUAN_TEST_CHROMIUM=str(tmp_path / "no-chromium"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "make up: PostgreSQL, RabbitMQ, RabbitMQ management API, RabbitMQ consistent-hash "
        "exchange, Redis: all present."
    ]
    redis = preflight("up", ADUAN_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert redis.returncode == 1
    assert "missing: Redis at 127.0.0.1:" in redis.stderr


def test_make_test_runs_the_check_first() -> None:
    plan = subprocess.run(
        ["make", "-n", "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    check, tests = plan.index("-m deploy.preflight test"), plan.index("-m pytest")
    assert check < tests
