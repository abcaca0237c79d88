"""CPU time spent by each process of the stack (and the bench) over a stretch of work."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import psutil

from bench.footprint import label


def _cpu_seconds(processes: list[psutil.Process]) -> dict[str, float]:
    spent: dict[str, float] = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        name = label(process)
        spent[name] = spent.get(name, 0.0) + times.user + times.system
    return spent


@contextlib.contextmanager
def accounting(
    processes: Callable[[], list[psutil.Process]], into: dict[str, Any]
) -> Iterator[None]:
    """Fills ``into`` with the CPU seconds each process spent inside the block (the bench
    process itself as ``bench``)."""
    me = psutil.Process()
    before = _cpu_seconds(processes())
    mine = me.cpu_times()
    yield
    after = _cpu_seconds(processes())
    mine_after = me.cpu_times()
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    spent["bench"] = mine_after.user + mine_after.system - mine.user - mine.system
    into.update(
        {name: round(seconds, 2) for name, seconds in sorted(spent.items(), key=lambda i: -i[1])}
    )
