"""The Temporal dev server with its Web UI, started with the saga's search attributes."""

from __future__ import annotations

from pathlib import Path

from devstack.binaries import find_binary
from devstack.process import ManagedProcess
from workflows.search_attributes import SEARCH_ATTRIBUTES


class TemporalDevServer:
    def __init__(
        self,
        *,
        port: int,
        ui_port: int,
        db_path: Path,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.ui_port = ui_port
        self.db_path = db_path
        self.host = host
        command = [
            find_binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            host,
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--db-filename",
            str(db_path),
            "--log-level",
            "warn",
        ]
        for key in SEARCH_ATTRIBUTES:
            command += ["--search-attribute", f"{key.name}=Keyword"]
        self.process = ManagedProcess(
            name="temporal",
            command=command,
            # The UI comes up after the frontend, so it answering means both are ready.
            ready_url=f"http://{host}:{ui_port}/",
            log_path=log_path,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    def start(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.process.start()

    def stop(self) -> None:
        self.process.stop()
