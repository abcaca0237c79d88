"""Polling with exponential backoff for something another process is about to write:
soon at first, then easing off, until it is there or the time allowed has passed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll_until(
    poll: Callable[[], Awaitable[T]],
    found: Callable[[T], bool],
    *,
    within: float,
    first_pause: float,
    longest_pause: float,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Calls ``poll()`` until ``found`` holds for what it returns or ``within`` seconds
    have passed, the pause between calls doubling from ``first_pause`` up to
    ``longest_pause``. Returns the last result, found or not. ``pause`` may end early (a
    hint that what is polled for has come)."""
    deadline = time.monotonic() + within
    wait = first_pause
    while True:
        seen = await poll()
        left = deadline - time.monotonic()
        if found(seen) or left <= 0:
            return seen
        await pause(min(wait, left))
        wait = min(wait * 2, longest_pause)
