"""Waiting for something that happens in the background, with a deadline instead of a sleep.

The one polling helper of the tests, the reliability harness and the bench.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

POLL_SECONDS = 0.05


@overload
async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    within: float = ...,
    pause: float = ...,
    ignoring: tuple[type[Exception], ...] = ...,
    what: str = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    within: float = ...,
    pause: float = ...,
    ignoring: tuple[type[Exception], ...] = ...,
    what: str = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool] = bool,
    *,
    within: float = 15.0,
    pause: float = POLL_SECONDS,
    ignoring: tuple[type[Exception], ...] = (),
    what: str = "the condition",
) -> T:
    """Call ``probe`` until ``accept`` likes its answer (by default: a true one, so a
    probe may answer ``None`` for "not yet"); fail after ``within`` seconds.

    An error of a type in ``ignoring`` counts as "not yet"; if one is the last word at the
    deadline, it is raised itself.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            value = await probe()
        except ignoring:
            if time.monotonic() > deadline:
                raise
        else:
            if accept(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        await asyncio.sleep(pause)
