"""nats-server with JetStream, keeping its store in a directory that outlives restarts."""

from __future__ import annotations

from pathlib import Path

from devstack.binaries import find_binary
from devstack.process import ManagedProcess


class NatsServer:
    def __init__(
        self,
        *,
        port: int,
        monitor_port: int,
        store_dir: Path,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.monitor_port = monitor_port
        self.store_dir = store_dir
        self.host = host
        command = [
            find_binary("nats-server"),
            "-js",
            "-sd",
            str(store_dir),
            "-a",
            host,
            "-p",
            str(port),
            "-m",
            str(monitor_port),
        ]
        self.process = ManagedProcess(
            name="nats-server",
            command=command,
            # Plain /healthz answers before JetStream has recovered its store.
            ready_url=f"http://{host}:{monitor_port}/healthz?js-enabled-only=true",
            log_path=log_path,
        )

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.process.start()

    def stop(self) -> None:
        self.process.stop()
