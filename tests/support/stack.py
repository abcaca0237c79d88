"""`ticketing up` run as a subprocess on free ports, as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.stack.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class RunningStack:
    def __init__(
        self, data_dir: Path, *, app: str = "services.gateway.main:app", **env: str
    ) -> None:
        self.ports = {
            name: free_port()
            for name in (
                "API_PORT",
                "NATS_PORT",
                "NATS_MONITOR_PORT",
                "TEMPORAL_PORT",
                "TEMPORAL_UI_PORT",
                "LOCALSTRIPE_PORT",
            )
        }
        self.env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}}
        self.env["DATA_DIR"] = str(data_dir)
        self.env.pop("STRIPE_SECRET_KEY", None)
        self.env.update(env)
        self.app = app
        self.process: subprocess.Popen[str] | None = None

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[name]}"

    def start(self) -> None:
        command = [sys.executable, "-m", "services.cli", "up", "--app", self.app]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "ticketing up exited while starting"
            try:
                if httpx.get(self.url("API_PORT") + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("the API never answered")

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
