"""A bound on requests held waiting for a change (``Prefer: wait``): in all and per user,
so that a flood of long polls cannot hold every connection and task of a service."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from services.common.http.errors import ServiceBusy
from services.common.settings import Settings

# What a refused waiter is told: come back after about one wait's worth of time.
RETRY_AFTER_SECONDS = 5


class WaitingRequests:
    def __init__(self, settings: Settings) -> None:
        self.limit = settings.max_waiting_requests
        self.per_user = settings.max_waiting_requests_per_user
        self.by_user: Counter[str] = Counter()

    @property
    def waiting(self) -> int:
        return self.by_user.total()

    @contextlib.contextmanager
    def slot(self, user: str) -> Iterator[None]:
        """Hold a place for one waiting request of ``user``; ServiceBusy when none is free."""
        if self.waiting >= self.limit:
            raise ServiceBusy(RETRY_AFTER_SECONDS, "Too many waiting requests: ask again later")
        if self.by_user[user] >= self.per_user:
            raise ServiceBusy(RETRY_AFTER_SECONDS, "Too many of your requests are waiting")
        self.by_user[user] += 1
        try:
            yield
        finally:
            self.by_user[user] -= 1
            if not self.by_user[user]:
                del self.by_user[user]


async def get_waiting_requests(request: Request) -> WaitingRequests:
    waiting: WaitingRequests = request.app.state.waiting
    return waiting


WaitingRequestsDep = Annotated[WaitingRequests, Depends(get_waiting_requests)]
