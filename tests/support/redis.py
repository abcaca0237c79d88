"""A throwaway redis-server (Debian's package): the limits' shared store, as deployed."""

from __future__ import annotations

import shutil
from pathlib import Path

from devstack.process import ManagedProcess
from tests.support.ports import free_port


class RedisServer:
    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("no redis-server: apt-get install redis-server (.ci/run does)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        # Counts only: nothing kept on disk, nothing reachable beyond the loopback.
        self.process = ManagedProcess(
            name="redis-server",
            command=[
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(root)),
            ],
            ready_port=self.port,
            log_path=root / "redis.log",
        )

    def start(self) -> None:
        self.process.start()

    def stop(self) -> None:
        self.process.stop()
