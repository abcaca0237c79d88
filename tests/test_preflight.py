"""`make test` on a bare machine: its preflight (scripts/preflight) finds what the tests need
and the machine lacks, and installs it, or stops at once with the exact command to run.

The machine is made bare of Chromium with a throwaway PATH that holds only the few commands
the preflight itself uses; the dry run shows what it would install without installing it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFLIGHT = ROOT / "scripts" / "preflight"
BROWSER_PACKAGES = "chromium chromium-driver fonts-liberation"


@pytest.fixture
def bare_path() -> Iterator[str]:
    """A PATH with the preflight's own tools (where the machine has them) and no Chromium."""
    # Readable by every user: one test runs the preflight as an unprivileged one.
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o755)
        for tool in ("bash", "env", "getent", "apt-get"):
            if found := shutil.which(tool, path="/usr/bin:/bin:/usr/sbin:/sbin"):
                os.symlink(found, Path(directory) / tool)
        assert shutil.which("chromium", path=directory) is None
        yield directory


def preflight(path: str, *args: str, user: int | None = None) -> subprocess.CompletedProcess[str]:
    command = [shutil.which("bash") or "/bin/bash", str(PREFLIGHT), *args]
    if user is not None:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) runs the preflight as another user"
        command = [setpriv, f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(
        command, env={"PATH": path}, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="the preflight installs with apt-get")
@pytest.mark.skipif(os.geteuid() != 0, reason="as root the preflight installs by itself")
def test_as_root_it_would_install_chromium_with_apt_get(bare_path: str) -> None:
    ran = preflight(bare_path, "--dry-run")

    assert ran.returncode == 0, ran.stderr
    line = ran.stdout.splitlines()[0]
    assert line.startswith("make test needs: ")
    assert "installing: apt-get update && apt-get install -y --no-install-recommends" in line
    assert BROWSER_PACKAGES in line.split("--no-install-recommends", 1)[1]
    assert "(dry run: nothing installed)" in ran.stdout


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="the preflight installs with apt-get")
def test_without_root_or_sudo_it_stops_with_the_exact_command(bare_path: str) -> None:
    # Not dry: without root and without sudo in its PATH it can only stop. As root, the test
    # drops to the unprivileged `nobody`.
    ran = preflight(bare_path, user=65534 if os.geteuid() == 0 else None)

    assert ran.returncode == 1
    assert ran.stdout == ""
    told = ran.stderr.splitlines()
    assert told[0].startswith("make test needs: ")
    assert BROWSER_PACKAGES in told[0]
    assert told[1].startswith("    sudo apt-get update && sudo apt-get install -y ")
    assert BROWSER_PACKAGES in told[1]


def test_it_refuses_an_unknown_option(bare_path: str) -> None:
    ran = preflight(bare_path, "--yes")

    assert ran.returncode == 2
    assert "usage:" in ran.stderr
