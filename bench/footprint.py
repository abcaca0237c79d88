"""Resident memory of the whole stack: the sum over its processes, and who holds what."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

MIB = 1024 * 1024
SAMPLE_SECONDS = 0.5


def label(process: psutil.Process) -> str:
    """A short name: the server binary's, or for Python the module it runs and its first
    argument (``services.cli worker``, ``uvicorn devstack.gateway.main:app``)."""
    try:
        name = str(process.name())
        args = [str(arg) for arg in process.cmdline()]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"
    if name.startswith("python") and "-m" in args:
        module = args[args.index("-m") + 1 :]
        return " ".join(module[:2]) if module else name
    return name


def snapshot(processes: list[psutil.Process]) -> dict[str, Any]:
    by_process: dict[str, float] = {}
    total = 0
    for process in processes:
        try:
            rss = process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += rss
        name = label(process)
        by_process[name] = round(by_process.get(name, 0) + rss / MIB, 1)
    return {
        "rss_mib": round(total / MIB, 1),
        "processes": len(processes),
        "by_process_mib": dict(sorted(by_process.items(), key=lambda item: -item[1])),
    }


@dataclass
class PeakSampler:
    """Samples the stack's total RSS every half second; keeps the largest snapshot."""

    processes: Callable[[], list[psutil.Process]]
    peak: dict[str, Any] = field(default_factory=lambda: {"rss_mib": 0.0})

    @contextlib.asynccontextmanager
    async def sampling(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._sample())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sample(self) -> None:
        while True:
            now = await asyncio.to_thread(snapshot, self.processes())
            if now["rss_mib"] > self.peak["rss_mib"]:
                self.peak = now
            await asyncio.sleep(SAMPLE_SECONDS)
