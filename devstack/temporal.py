"""The Temporal dev server with its Web UI, started with the saga's search attributes."""

from __future__ import annotations

from pathlib import Path

from devstack.binaries import find_binary
from devstack.process import ManagedProcess
from workflows.contracts import SEARCH_ATTRIBUTES

# The history service reads its transfer queue (the activity and workflow tasks to hand
# to the workers) at most this many times a second: 20 by default, so a task waited up
# to 50 ms to be dispatched, twice per activity (its task, then the workflow task that
# follows it). Five no-op activities took 550 ms at one concurrent, 48 ms with this.
# It bounds polling only: nothing is kept for less long.
DISPATCH_ARGS = ("--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000")
# The dev server's own SQLite: WAL, and fsync at checkpoints rather than each commit. A
# crash of the process loses nothing; a power cut may lose the last moments' history
# (never corrupts it). That is the embedded stack's trade; production runs a real cluster.
SQLITE_ARGS = (
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
)


class TemporalDevServer:
    def __init__(
        self,
        *,
        port: int,
        ui_port: int,
        db_path: Path,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
        ui_codec_endpoint: str | None = None,
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
            *DISPATCH_ARGS,
            *SQLITE_ARGS,
        ]
        for key in SEARCH_ATTRIBUTES:
            command += ["--search-attribute", f"{key.name}=Keyword"]
        if ui_codec_endpoint is not None:
            # The UI asks it, from the browser, to decrypt the payloads it shows.
            command += ["--ui-codec-endpoint", ui_codec_endpoint]
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
