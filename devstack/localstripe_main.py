"""Runs localstripe with its store at $LOCALSTRIPE_STORE.

localstripe pickles its whole store to a fixed /tmp path on every write, so two
instances (the dev stack and a test run, or two test workers) would overwrite each
other's data; this moves the file under our data directory instead.

It also writes the store at most once per ``SAVE_DELAY_SECONDS`` rather than on every
change: a payment changes several objects, and each full pickle costs time that grows
with the store (every card and payment made so far), on the path of every charge. The
last changes are written when the server stops; a crash loses at most the delay's worth
of a development stand-in's data.
"""

from __future__ import annotations

import asyncio
import os
import pickle
from pathlib import Path
from typing import Any

from localstripe import resources, server

from devstack.localstripe import STORE_ENV

SAVE_DELAY_SECONDS = 0.5


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


class DeferredSave:
    """Coalesces the store's saves: the first change schedules one, later changes
    before it ride along."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: asyncio.TimerHandle | None = None

    def request(self, store: resources.Store) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not serving yet: nothing to coalesce with
            _dump(store, self.path)
            return
        if self.pending is None:
            self.pending = loop.call_later(SAVE_DELAY_SECONDS, self.save_now, store)

    def save_now(self, store: resources.Store) -> None:
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
        _dump(store, self.path)


def main() -> None:
    path = Path(os.environ[STORE_ENV])
    saves = DeferredSave(path)
    resources.Store.try_load_from_disk = lambda self: _load(self, path)
    resources.Store.dump_to_disk = lambda self: saves.request(self)

    async def save_on_stop(_app: Any) -> None:
        if saves.pending is not None:
            saves.save_now(resources.store)

    server.app.on_cleanup.append(save_on_stop)
    server.start()


if __name__ == "__main__":
    main()
