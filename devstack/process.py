"""One child process that is started, waited for until ready, and stopped by its pid."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import mirakuru.base
import psutil
from mirakuru import HTTPExecutor, SimpleExecutor, TCPExecutor
from mirakuru.exceptions import ProcessFinishedWithError

START_TIMEOUT_SECONDS = 60.0


def kill_own_leftovers() -> None:
    """At exit, kill what this process's executors started and left running.

    Replaces mirakuru's own exit hook, which matches its children by a substring of their
    ``mirakuru_uuid`` (``"<parent pid>:<uuid>"``): a process whose pid happens to appear in
    another process's uuid would kill that process's servers as it exits (a localstripe or a
    ``ticketing up`` ending during a test could take down the test's nats-server)."""
    own = f"{os.getpid()}:"
    for process in psutil.process_iter():
        try:
            started_by = process.environ().get(mirakuru.base.ENV_UUID, "")
            if started_by.startswith(own):
                process.send_signal(signal.SIGKILL)
        except (psutil.Error, OSError):
            continue


atexit.unregister(mirakuru.base.cleanup_subprocesses)
atexit.register(kill_own_leftovers)


def log_tail(path: Path | None, lines: int = 30) -> str:
    """The last lines of a log, to say why something did not start or stopped."""
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """A server process; ready when ``ready_url`` answers 2xx, else when ``ready_port`` opens.

    Output goes to ``log_path`` when given (so a failed start can say why), else to the
    parent's terminal.
    """

    name: str
    command: Sequence[str]
    ready_port: int | None = None
    ready_url: str | None = None
    host: str = "127.0.0.1"
    env: Mapping[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    cwd: Path | None = None
    _executor: SimpleExecutor | None = field(default=None, init=False, repr=False)
    _log: IO[str] | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        process = self._executor.process if self._executor else None
        return process.pid if process else None

    def running(self) -> bool:
        return self._executor is not None and self._executor.running()

    def start(self) -> None:
        if self.running():
            return
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a", encoding="utf-8")
        self._executor = self._build_executor()
        try:
            self._executor.start()
        except Exception as error:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {error}\n{self.log_tail()}") from error

    def stop(self) -> None:
        if self._executor is not None:
            # A non-zero exit on SIGTERM still means the process is gone.
            with suppress(ProcessFinishedWithError):
                self._executor.stop()
            self._executor = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def _build_executor(self) -> SimpleExecutor:
        output: IO[str] | None = self._log
        # mirakuru adds these to a copy of our own environment.
        options: dict[str, Any] = {
            "timeout": START_TIMEOUT_SECONDS,
            "envvars": dict(self.env),
            "stdin": subprocess.DEVNULL,
            "stdout": output,
            "stderr": subprocess.STDOUT if output else None,
            "cwd": str(self.cwd) if self.cwd else None,
        }
        command = list(self.command)
        if self.ready_url is not None:
            return HTTPExecutor(command, url=self.ready_url, method="GET", **options)
        if self.ready_port is not None:
            return TCPExecutor(command, host=self.host, port=self.ready_port, **options)
        return SimpleExecutor(command, **options)
