"""The press: files that need the printing libraries (openpyxl, reportlab and PIL, about 20 MB)
are made in a child process, so the reporting service never loads them.

A workbook, a PDF or a chart is asked of the press by the name of the function that makes it
("module:function") and its arguments; the child imports the module, calls the function and
sends back what it returned (or raised). The press starts its child on the first file and
ends it once no file has come for `IDLE_SECONDS`. Before, one recap a month or one export
left 19–23 MB of those libraries in the service for good; the child also takes the printing's
CPU off the service's interpreter.

A file that takes longer than `TIMEOUT_SECONDS` ends with its child (`PressFailed`), and so
does one whose child died (killed, out of memory): the next file starts another child.

Called from the drawing thread (drawing.py), one file at a time; the press is safe to call
from any thread (a lock keeps one file in the child at a time).
"""

from __future__ import annotations

import atexit
import ctypes
import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

IDLE_SECONDS = 120.0
"""The child ends once no file has come for this long."""
TIMEOUT_SECONDS = 300.0
"""A file not made within this long ends with its child (the largest case export takes a
fraction of it)."""
ROOT = Path(__file__).resolve().parents[2]


class PressFailed(RuntimeError):
    """The child did not answer: it died, or the file took longer than `TIMEOUT_SECONDS`."""


class Press:
    """The child process that makes files, started when needed, ended when idle."""

    def __init__(
        self, idle_seconds: float = IDLE_SECONDS, timeout_seconds: float = TIMEOUT_SECONDS
    ) -> None:
        self.idle_seconds, self.timeout_seconds = idle_seconds, timeout_seconds
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None
        self._idle: threading.Timer | None = None

    def __call__(self, function: str, *args: Any) -> Any:
        """What `function` ("module:function") returns for these arguments, made in the
        child; what it raised is raised here."""
        with self._lock:
            if self._idle is not None:
                self._idle.cancel()
            try:
                made, value = self._exchange(function, args)
            finally:
                self._idle = threading.Timer(self.idle_seconds, self._retire)
                self._idle.daemon = True
                self._idle.start()
        if made:
            return value
        raise value

    @property
    def running(self) -> bool:
        """Whether the child is there now."""
        return self._child is not None and self._child.poll() is None

    def close(self) -> None:
        """End the child now, if there is one (the service is stopping: a file under way is
        not finished)."""
        if self._idle is not None:
            self._idle.cancel()
        self._end(kill=True)

    def _exchange(self, function: str, args: tuple[Any, ...]) -> tuple[bool, Any]:
        try:
            to_child, from_child = self._started()
            to_child.send((function, args))
            if not from_child.poll(self.timeout_seconds):
                raise PressFailed(f"no file from the press within {self.timeout_seconds:.0f} s")
            answer: tuple[bool, Any] = from_child.recv()
            return answer
        except (OSError, EOFError) as error:  # not started (no file descriptors left), or died
            self._end(kill=True)
            raise PressFailed(f"the press's child ended: {error}") from error
        except PressFailed:
            self._end(kill=True)
            raise

    def _started(self) -> tuple[Connection, Connection]:
        if self._to_child is None or self._from_child is None or not self.running:
            self._end()
            child = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=ROOT,
                close_fds=True,
            )
            assert child.stdin is not None
            assert child.stdout is not None
            with child.stdin, child.stdout:  # the connections hold their own copies
                self._child = child
                self._to_child = Connection(os.dup(child.stdin.fileno()), readable=False)
                self._from_child = Connection(os.dup(child.stdout.fileno()), writable=False)
            log.debug("press: child %d started", child.pid)
        return self._to_child, self._from_child

    def _retire(self) -> None:
        """End the child if no file came meanwhile (a file under way holds the lock)."""
        if self._lock.acquire(blocking=False):
            try:
                self._end()
            finally:
                self._lock.release()

    def _end(self, *, kill: bool = False) -> None:
        child, self._child = self._child, None
        for connection in (self._to_child, self._from_child):
            if connection is not None:
                connection.close()
        self._to_child = self._from_child = None
        if child is None:
            return
        if kill:
            child.kill()
        try:  # its input closed, the child ends by itself; one that does not is killed
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.debug("press: child %d ended", child.pid)


press = Press()
atexit.register(press.close)  # a child drawing a file ends with the service, not after it


def _serve(inbox: Connection, outbox: Connection) -> None:
    """The child: make each file asked for, until the service closes the pipe."""
    while True:
        try:
            function, args = inbox.recv()
        except EOFError:
            return
        module, name = function.split(":")
        try:
            answer: tuple[bool, Any] = (True, getattr(importlib.import_module(module), name)(*args))
        except Exception as error:  # noqa: BLE001 - raised in the service, to the function's caller
            answer = (False, _portable(error))
        try:
            outbox.send(answer)
        except Exception as error:  # noqa: BLE001 - an answer that cannot be sent (not picklable)
            outbox.send((False, RuntimeError(f"{function}: {error!r}")))


def _portable(error: Exception) -> Exception:
    """An error as the service may read it: Python's own as it is; a library's (reportlab's
    LayoutError, PIL's) as its text, since reading it back would load that library in the
    service, or fail where its class cannot be rebuilt."""
    if type(error).__module__ == "builtins":
        return error
    return RuntimeError(f"{type(error).__module__}.{type(error).__qualname__}: {error}")


def _end_with_the_service() -> None:
    """The child ends the moment the service does, even in the middle of a file (its pipe
    closing ends it only between files): a SIGKILL when the thread that started it ends
    (Linux; it is the service's drawing thread, which lives as long as the service). A Ctrl-C
    reaches the service, which ends the child: the child ignores it (no traceback of its own)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        parent = os.getppid()
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the service ended before the signal was asked for
            sys.exit(0)


PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


if __name__ == "__main__":
    _end_with_the_service()
    # The answers go on the original stdout; anything a library prints goes to stderr.
    answers = os.dup(1)
    os.dup2(2, 1)
    logging.basicConfig(format="%(asctime)s %(levelname)s press %(name)s: %(message)s")
    _serve(Connection(0, writable=False), Connection(answers, readable=False))
