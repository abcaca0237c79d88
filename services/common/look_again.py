"""Looking again for something another process is about to write: soon at first, then
easing off, until it is there or the time allowed has passed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def look_until(
    look: Callable[[], Awaitable[T]],
    found: Callable[[T], bool],
    *,
    within: float,
    first_pause: float,
    longest_pause: float,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """``look()`` now and again, the pause doubling from ``first_pause`` up to
    ``longest_pause``, until ``found`` holds for what it returns or ``within`` seconds
    have passed. Returns the last look, found or not. ``pause`` may end early (a hint
    that what is looked for has come)."""
    deadline = time.monotonic() + within
    wait = first_pause
    while True:
        seen = await look()
        left = deadline - time.monotonic()
        if found(seen) or left <= 0:
            return seen
        await pause(min(wait, left))
        wait = min(wait * 2, longest_pause)
