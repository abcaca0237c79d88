"""A process that ran servers kills, as it exits, what it started and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

# Imports the module (which installs the exit hook), says its pid, waits for a line, and
# leaves as any Python program does.
CHILD = "import devstack.process, os, sys; print(os.getpid(), flush=True); sys.stdin.readline()"


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def sleeper(started: list[subprocess.Popen[bytes]], mirakuru_uuid: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(["sleep", "60"], env={**os.environ, "mirakuru_uuid": mirakuru_uuid})
    started.append(process)
    return process


def gone(process: subprocess.Popen[bytes], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return True
        time.sleep(0.05)
    return False


def test_exit_kills_its_own_leftovers_and_spares_a_uuid_that_contains_its_pid(
    sleepers: list[subprocess.Popen[bytes]],
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdout is not None and child.stdin is not None
    pid = int(child.stdout.readline())
    own = sleeper(sleepers, f"{pid}:00000000-0000-0000-0000-000000000000")
    # Another parent's server whose uuid happens to hold the exiting process's pid: the
    # substring match of mirakuru's own hook would kill it.
    other = sleeper(sleepers, f"1:{pid}0000-0000-0000-0000-000000000000")

    child.stdin.close()
    assert child.wait(timeout=10) == 0

    assert gone(own), "the exiting process left its own server running"
    assert not gone(other, within=1.0), "the exiting process killed another parent's server"
    assert psutil.pid_exists(other.pid)
