"""The embedded stack as a user runs it (``ticketing up``), timed from the command to ready.

Built on tests/support/stack.py's RunningStack (free ports, a throwaway DATA_DIR, stop by
pid). Until ``ticketing up`` starts the Temporal workers itself, the bench starts
``ticketing worker all`` next to it, with the addresses the stack gives its own children,
and says so in the report.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import psutil  # type: ignore[import-untyped]

from tests.support.stack import ROOT, RunningStack


class BenchStack(RunningStack):
    def __init__(self, data_dir: Path, **env: str) -> None:
        super().__init__(data_dir, **env)
        self.data_dir = data_dir
        self.cold_start_seconds: float | None = None
        self.extra_workers: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return self.url("API_PORT")

    @property
    def localstripe(self) -> str:
        return self.url("LOCALSTRIPE_PORT")

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports['TEMPORAL_PORT']}"

    @property
    def orders_db(self) -> Path:
        return self.data_dir / "orders.db"

    def start(self, *, stderr: IO[str] | None = None) -> None:
        """Starts ``ticketing up`` (its log under the data dir unless told otherwise),
        timed from the command to /readyz."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / "bench-stack.log").open("w") as log:
            super().start(stderr=stderr or log)
        self.cold_start_seconds = self.ready_seconds

    def runs_workers(self) -> bool:
        return any("worker" in _cmdline(process) for process in self.processes())

    def start_workers(self) -> None:
        """``ticketing worker all`` with the environment ``ticketing up`` gives its children."""
        env = {
            **self.env,
            "NATS_URL": self.url("NATS_PORT", scheme="nats"),
            "TEMPORAL_ADDRESS": self.temporal_address,
            "STRIPE_API_BASE": self.localstripe,
        }
        self.extra_workers = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", "all"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / "bench-workers.log").open("w"),
        )

    def processes(self) -> list[psutil.Process]:
        """Every process of the stack: ``ticketing up``, its descendants, and the workers."""
        roots = [p.pid for p in (self.process, self.extra_workers) if p is not None]
        found: list[psutil.Process] = []
        for pid in roots:
            try:
                root = psutil.Process(pid)
                found += [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return found

    def shutdown(self) -> None:
        if self.extra_workers is not None:
            self.extra_workers.send_signal(signal.SIGTERM)
            try:
                self.extra_workers.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.extra_workers.kill()
                self.extra_workers.wait()
            self.extra_workers = None
        if self.process is not None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.kill()


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""
