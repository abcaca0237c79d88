"""A throwaway PostgreSQL cluster for tests, deleted when stopped.

initdb refuses to run as root (as CI does), so there the cluster is created and run
by the ``postgres`` system user in a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from itertools import count
from pathlib import Path

SYSTEM_USER = "postgres"


def find_pg_bin_dir() -> Path:
    # Debian installs each major version side by side; the newest is the one to test on.
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if candidates:
        newest = max(candidates, key=lambda path: int(Path(path).parent.parent.name))
        return Path(newest).parent
    found = shutil.which("initdb")
    if found is None:
        raise FileNotFoundError("initdb not found: install PostgreSQL server binaries")
    return Path(found).parent


class PostgresCluster:
    def __init__(self, *, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.bin_dir = find_pg_bin_dir()
        self.root: Path | None = None
        self._names = count(1)

    @property
    def _as_system_user(self) -> bool:
        return os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_system_user:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        # The cwd must be readable by the system user, which ours may not be.
        done = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ticketing-pg-"))
        if self._as_system_user:
            shutil.chown(self.root, SYSTEM_USER, SYSTEM_USER)
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} "
            f"-c unix_socket_directories={self.root} "
            # Durability is worthless for a cluster deleted after the run.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl", "start", "-w", "-D", str(data), "-o", options, "-l", str(self.root / "log")
        )

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.root / "data"))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def new_database_url(self) -> str:
        """A fresh empty database, as an asyncpg SQLAlchemy URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._run("createdb", "-h", self.host, "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/{name}"
