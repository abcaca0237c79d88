"""Secrets the embedded stack makes for itself: generated once under the data directory,
then read back by every process of the stack. Outside development nothing calls this:
the secrets come from the settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def generated_once(path: Path, generate: Callable[[], bytes]) -> bytes:
    """``path``'s content, made by ``generate`` if the file does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written next to itself then linked into place, so that processes starting at
        # the same moment agree on one secret: the first link wins, the others read it.
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_bytes(generate())
        scratch.chmod(0o600)
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    return path.read_bytes()
