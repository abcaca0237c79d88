"""`ticketing up` run as a subprocess on free ports, as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import psutil

from devstack.run import DEFAULT_API_APP
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 120.0
READY_POLL_SECONDS = 0.05


class RunningStack:
    def __init__(self, data_dir: Path, *, app: str = DEFAULT_API_APP, **env: str) -> None:
        self.ports = {
            name: free_port()
            for name in (
                "API_PORT",
                "NATS_PORT",
                "NATS_MONITOR_PORT",
                "TEMPORAL_PORT",
                "TEMPORAL_UI_PORT",
                "LOCALSTRIPE_PORT",
                "CODEC_SERVER_PORT",
                "MAIL_CATCHER_PORT",
                # `ticketing up` runs one worker process: its health port is this one.
                "WORKER_HEALTH_PORT",
            )
        }
        self.env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}}
        self.env["DATA_DIR"] = str(data_dir)
        self.env.pop("STRIPE_SECRET_KEY", None)
        self.env.update(env)
        self.app = app
        self.process: subprocess.Popen[str] | None = None
        self.ready_seconds: float | None = None
        # What `ticketing up` printed up to "Press Ctrl-C": its addresses.
        self.output = ""

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[name]}"

    def start(self, *, stderr: IO[str] | None = None) -> None:
        """Returns once /readyz answers 200 and `ticketing up` has started every process
        (the API answers before the workers are started); ``ready_seconds`` is the time
        from the command to /readyz."""
        command = [sys.executable, "-m", "services.cli", "up", "--app", self.app]
        started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        deadline = started + READY_TIMEOUT_SECONDS
        with httpx.Client(timeout=1) as client:
            while time.perf_counter() < deadline:
                assert self.process.poll() is None, "ticketing up exited while starting"
                try:
                    if client.get(self.url("API_PORT") + "/readyz").status_code == 200:
                        self.ready_seconds = time.perf_counter() - started
                        self._wait_until_all_started()
                        return
                except httpx.TransportError:
                    pass
                time.sleep(READY_POLL_SECONDS)
        raise AssertionError("the API never answered /readyz")

    def _wait_until_all_started(self) -> None:
        """`ticketing up` says when everything is started; its output is drained
        afterwards so that it never blocks on a full pipe."""
        assert self.process is not None and self.process.stdout is not None
        output = self.process.stdout
        self.output = ""
        for line in output:
            self.output += line
            if line.startswith("Press Ctrl-C"):
                break
        threading.Thread(target=output.read, daemon=True).start()

    def stop(self) -> tuple[int, set[int]]:
        """Stops with SIGTERM; returns the exit code and the children that were running."""
        assert self.process is not None
        children = {child.pid for child in psutil.Process(self.process.pid).children()}
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.process = None
        return code, children

    def kill(self) -> None:
        if self.process is not None:
            for child in psutil.Process(self.process.pid).children():
                child.kill()
            self.process.kill()
            self.process.wait()
