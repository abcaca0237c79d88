"""Runs localstripe with its store at $LOCALSTRIPE_STORE.

localstripe pickles its whole store to a fixed /tmp path on every write, so two
instances (the dev stack and a test run, or two test workers) would overwrite each
other's data; this moves the file under our data directory instead.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from localstripe import resources, server

from services.stack.localstripe import STORE_ENV


def _load(store: resources.Store, path: Path) -> None:
    if path.exists():
        with path.open("rb") as file:
            saved = pickle.load(file)
        store.clear()
        store.update(saved)


def _dump(store: resources.Store, path: Path) -> None:
    # Write then rename, so a crash mid-write cannot leave a truncated store behind.
    partial = path.with_suffix(".tmp")
    with partial.open("wb") as file:
        pickle.dump(dict(store), file, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)


def main() -> None:
    path = Path(os.environ[STORE_ENV])
    resources.Store.try_load_from_disk = lambda self: _load(self, path)
    resources.Store.dump_to_disk = lambda self: _dump(self, path)
    server.start()


if __name__ == "__main__":
    main()
