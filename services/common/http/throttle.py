"""Throttles: moving-window limits on attempts per key (an account, a client address, a
buyer), over which a route answers 429 with ``Retry-After``.

Limits are the ``limits`` library's notation ("5/15 minutes"), one setting each. The
embedded stack keeps the counts in the process (``THROTTLE_STORAGE=memory://``); several
replicas share them through Redis (``redis://host:6379/0``, which compose and the chart
run), and production refuses the in-process store where ``REPLICAS`` says there are
several. ``THROTTLING=false`` turns every throttle off, for load tests and benchmarks
(refused in production).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import SettingsDep
from services.common.http.errors import TooManyRequests
from services.common.settings import Settings


class Throttle:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.throttling
        uri = settings.throttle_storage
        # The asyncio flavour of the same storage (memory://, redis://, ...); Redis through
        # redis-py's client (the project's), not coredis (limits' default).
        uri = uri if uri.startswith("async+") else f"async+{uri}"
        options = {"implementation": "redispy"} if "redis" in uri.split("://")[0] else {}
        storage = storage_from_string(uri, **options)
        assert isinstance(storage, Storage)
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, limit: str, *key: str, message: str | None = None) -> None:
        """Count an attempt; TooManyRequests if it is one too many."""
        if not self.enabled:
            return
        item = parse(limit)
        if not await self._limiter.hit(item, *key):
            raise TooManyRequests(await self._retry_after(item, key), message)

    async def refuse_if_spent(self, limit: str, *key: str, message: str | None = None) -> None:
        """TooManyRequests if the attempts counted so far have used the limit up."""
        retry_after = await self.spent(limit, *key)
        if retry_after is not None:
            raise TooManyRequests(retry_after, message)

    async def spent(self, limit: str, *key: str) -> int | None:
        """Seconds until the limit allows again, if the attempts so far used it up."""
        if not self.enabled:
            return None
        item = parse(limit)
        if await self._limiter.test(item, *key):
            return None
        return await self._retry_after(item, key)

    async def count(self, limit: str, *key: str) -> None:
        """Count an attempt (a failed sign-in, say) without refusing this one."""
        if self.enabled:
            await self._limiter.hit(parse(limit), *key)

    async def _retry_after(self, item: RateLimitItem, key: tuple[str, ...]) -> int:
        stats = await self._limiter.get_window_stats(item, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))


async def get_throttle(request: Request) -> Throttle:
    throttle: Throttle = request.app.state.throttle
    return throttle


ThrottleDep = Annotated[Throttle, Depends(get_throttle)]


def per_user(limit: Callable[[Settings], str], scope: str, message: str) -> Any:
    """A route dependency counting the signed-in caller's attempts at ``scope``."""

    async def guard(user: CurrentUserDep, throttle: ThrottleDep, settings: SettingsDep) -> None:
        await throttle.hit(limit(settings), scope, str(user.id), message=message)

    return Depends(guard)
