"""`make up`'s supervisor: a child that exits is started again after a growing delay, and the
one line it prints says which, why and when (the whole system under it: tests/e2e/test_make_up)."""

from __future__ import annotations

import os
import socket
import sys
import time

import pytest

from deploy.local import Child, Supervisor
from tests.infrastructure import base_settings
from tests.polling import eventually


def test_the_delay_doubles_up_to_30_s_and_starts_over_after_a_steady_run() -> None:
    child = Child("intake", ["true"], 8001)
    delays = []
    for now in range(100, 800, 100):
        child.started = now - 5.0  # each run a short one
        delays.append(child.exited(now))
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    child.started = 1000.0 - 61.0  # a run of a minute and more
    assert child.exited(1000.0) == 1


async def test_a_child_that_cannot_start_is_retried_with_backoff_and_says_why(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
        child = Child("gateway", command, port)
        settings = base_settings().model_copy(update={"bind_host": "127.0.0.1"})
        supervisor = Supervisor(settings, dict(os.environ), [child])
        said: list[tuple[float, str]] = []

        async def said_twice() -> bool:
            supervisor.tend()
            lines = capfd.readouterr().err.splitlines()
            said.extend((time.monotonic(), line) for line in lines if line.startswith("make up:"))
            return len(said) >= 2

        supervisor.start()
        try:
            await eventually(said_twice, within=15)
        finally:
            supervisor.stop()
    why = f"exit status 1; its port {port} is in use by another process"
    assert said[0][1] == f"make up: gateway exited ({why}); restarting it in 1 s."
    assert said[1][1] == f"make up: gateway exited ({why}); restarting it in 2 s."
    assert said[1][0] - said[0][0] >= 1.0  # started again only after the delay: no spinning
    assert len(said) == 2
