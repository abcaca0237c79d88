"""Closed-loop load: ``concurrency`` clients, each running its share of jobs back to back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


@dataclass
class Run(Generic[Result]):
    results: list[Result]
    failures: list[BaseException]
    wall_seconds: float


async def closed_loop(
    jobs: Sequence[Sequence[Job]], work: Callable[[int, Job], Awaitable[Result]]
) -> Run[Result]:
    """Runs ``jobs[i]`` one after another on client ``i``, every client at once; the wall
    time runs from the first job's start to the last one's end."""
    results: list[Result] = []
    failures: list[BaseException] = []

    async def client(index: int, mine: Sequence[Job]) -> None:
        for job in mine:
            try:
                results.append(await work(index, job))
            except Exception as error:  # counted and reported, never hidden
                failures.append(error)

    started = time.perf_counter()
    await asyncio.gather(*(client(index, mine) for index, mine in enumerate(jobs)))
    return Run(results, failures, time.perf_counter() - started)


def deal(items: Sequence[Job], hands: int) -> list[list[Job]]:
    """``items`` dealt round-robin into ``hands`` lists."""
    return [list(items[hand::hands]) for hand in range(hands)]
