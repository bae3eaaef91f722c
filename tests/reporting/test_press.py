"""The press: files that need the printing libraries are made in a child process, so reporting
never keeps those libraries (about 20 MB); the child ends once idle, and one that dies or hangs
costs its file only."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from services.reporting.drawing import NotDrawn, drawn
from services.reporting.press import ROOT, Press, PressFailed
from shared.settings import Settings
from tests.polling import eventually
from tests.system import running, with_free_ports

YEARS_PDF = "/reporting/v1/rekap/years.pdf?from=2020&to=2026"
PRINTING = "/PIL/"  # a native library the printing code loads (openpyxl's images, reportlab's)


def children_of(pid: int) -> list[int]:
    """The press children of a process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        if parent == pid and b"services.reporting.press" in command:
            found.append(int(entry.name))
    return found


def mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.fixture
def press() -> Iterator[Press]:
    made = Press(idle_seconds=60, timeout_seconds=20)
    yield made
    made.close()


def test_a_file_is_made_in_the_child_and_what_it_raises_is_raised_here(press: Press) -> None:
    assert press("math:hypot", 3, 4) == 5.0
    pid = press("os:getpid")
    assert pid != os.getpid()
    with pytest.raises(ValueError, match="math domain error"):
        press("math:sqrt", -1)
    assert press("os:getpid") == pid  # an error in a file leaves the child serving
    # A library's error comes back as its text: reading the error itself back would load the
    # library (reportlab, PIL) in the service.
    with pytest.raises(RuntimeError, match=r"decimal\.InvalidOperation"):
        press("decimal:Decimal", "bukan angka")


def test_a_child_that_dies_costs_its_file_only(press: Press, tmp_path: Path) -> None:
    first = press("os:getpid")
    started = tmp_path / "mulai"
    with ThreadPoolExecutor(1) as drawing:
        shell = ["sh", "-c", f"touch {started}; sleep 20"]
        under_way = drawing.submit(press, "subprocess:run", shell)  # a file that takes long
        deadline = time.monotonic() + 20
        while not started.exists():  # the child is making it
            assert time.monotonic() < deadline, "the file was never started"
            time.sleep(0.05)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(PressFailed):
            under_way.result(timeout=20)
    assert press("math:hypot", 3, 4) == 5.0  # another child
    assert press("os:getpid") != first


def test_a_file_that_takes_too_long_ends_its_child() -> None:
    press = Press(idle_seconds=60, timeout_seconds=0.5)
    try:
        first = press("os:getpid")
        with pytest.raises(PressFailed):
            press("time:sleep", 30)
        assert first not in children_of(os.getpid())  # killed and reaped
        assert press("math:hypot", 3, 4) == 5.0
    finally:
        press.close()


async def test_a_file_the_press_did_not_make_is_a_503_problem() -> None:
    press = Press(idle_seconds=60, timeout_seconds=0.5)
    try:
        with pytest.raises(NotDrawn) as refused:
            await drawn(lambda: press("time:sleep", 30))
        assert refused.value.status == 503
    finally:
        press.close()


async def test_the_child_ends_once_idle() -> None:
    press = Press(idle_seconds=0.5, timeout_seconds=20)
    try:
        child = press("os:getpid")
        assert press.running

        async def ended() -> bool:
            return not press.running and child not in children_of(os.getpid())

        assert await eventually(ended, within=15)
        assert press("math:hypot", 3, 4) == 5.0  # and starts again for the next file
    finally:
        press.close()


async def test_reporting_draws_its_files_without_keeping_the_printing_libraries(
    settings: Settings, tmp_path: Path
) -> None:
    """Before the press, the first recap or export left reportlab, openpyxl and PIL in the
    service (19-23 MB, for good)."""
    configured = with_free_ports(settings).model_copy(update={"press_idle_seconds": 10.0})
    async with running(configured, tmp_path, ["reporting"]) as system:
        service = system.processes["reporting"].pid
        async with httpx.AsyncClient(base_url=system.url("reporting"), timeout=30) as http:
            pdf = await http.get(YEARS_PDF)
            workbook = await http.get("/reporting/v1/rekap.xlsx")
        assert pdf.status_code == 200, pdf.text
        assert pdf.content.startswith(b"%PDF")
        assert workbook.status_code == 200, workbook.text
        assert workbook.content.startswith(b"PK")
        children = children_of(service)
        assert len(children) == 1, children
        assert PRINTING in mapped(children[0])
        assert PRINTING not in mapped(service)

        async def idle_child_ended() -> bool:
            return not children_of(service)

        assert await eventually(idle_child_ended, within=40, interval=0.5)
        assert PRINTING not in mapped(service)


SERVICE = """
import sys, threading
from services.reporting.press import Press
press = Press()
print(press("os:getpid"), flush=True)
code = "import pathlib, sys, time; pathlib.Path(sys.argv[1]).touch(); time.sleep(60)"
long_file = [sys.executable, "-c", code, sys.argv[1]]
threading.Thread(target=press, args=("subprocess:run", long_file)).start()
threading.Event().wait()
"""


def exists(path: Path) -> bool:
    return path.exists()


async def test_the_child_ends_with_the_service_even_in_the_middle_of_a_file(
    tmp_path: Path,
) -> None:
    """A service killed while its child made a file (the recap, when `make up` stopped): the
    child ended only once the file was done and its answer had nowhere to go."""
    started = tmp_path / "mulai"
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVICE, str(started), cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert service.stdout is not None
    child = int(await asyncio.wait_for(service.stdout.readline(), timeout=30))
    try:

        async def drawing() -> bool:  # the long file under way in the child
            return exists(started)

        assert await eventually(drawing, within=30)
        service.kill()
        await service.wait()

        async def gone() -> bool:
            return not exists(Path(f"/proc/{child}"))

        assert await eventually(gone, within=5, interval=0.05)
    finally:
        if exists(Path(f"/proc/{child}")):
            os.kill(child, signal.SIGKILL)
        await asyncio.to_thread(subprocess.run, ["pkill", "-f", str(started)], check=False)
