"""The embedded stack as a user runs it (``ticketing up``), timed from the command to ready.

Built on tests/support/stack.py's RunningStack (free ports, a throwaway DATA_DIR, stop by
pid). ``ticketing up`` runs the Temporal workers among its children, so every process the
bench measures descends from it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO

import psutil

from tests.support.stack import RunningStack


class BenchStack(RunningStack):
    def __init__(self, data_dir: Path, **env: str) -> None:
        # Thousands of buyers from one address, as fast as they can: no throttle is meant
        # for that, and their sign-ups are setup, not what is measured (the purchase path),
        # so their passwords are hashed cheaply.
        super().__init__(data_dir, **{"THROTTLING": "false", "PASSWORD_HASH_COST": "10", **env})
        self.data_dir = data_dir
        self.cold_start_seconds: float | None = None

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

    def processes(self) -> list[psutil.Process]:
        """Every process of the stack: ``ticketing up`` and its descendants (the workers
        among them)."""
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def shutdown(self) -> None:
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
