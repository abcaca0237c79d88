"""localstripe, the Stripe stand-in, with its store in a file of our choosing."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.process import ManagedProcess

STORE_ENV = "LOCALSTRIPE_STORE"


class LocalStripe:
    def __init__(self, *, port: int, store_path: Path, log_path: Path | None = None) -> None:
        self.port = port
        self.store_path = store_path
        self.process = ManagedProcess(
            name="localstripe",
            command=[sys.executable, "-m", "devstack.localstripe_main", "--port", str(port)],
            ready_port=port,
            env={STORE_ENV: str(store_path)},
            log_path=log_path,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store_path.parent.mkdir(parents=True, exist_ok=True)
        self.process.start()

    def stop(self) -> None:
        self.process.stop()
