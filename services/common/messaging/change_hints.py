"""Hints that an entity has changed, heard from the events that announce its changes.

A request waiting for a change (a long poll) sleeps until a hint for its entity arrives
instead of reading the database again and again. The hints come from a plain NATS
subscription on the events' subjects, so every process of a service hears every event,
whichever process's relay published it. They are hints only: the waiter reads the
database when woken, and at least every ``FALLBACK_LOOK_SECONDS`` anyway, so a hint lost
while the bus is down costs a little latency, never a wrong answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from nats.aio.msg import Msg

from services.common.messaging.bus import Bus
from services.common.messaging.events import Subject

FALLBACK_LOOK_SECONDS = 1.0


@dataclass(frozen=True)
class HintSource:
    """Which events announce a change, and which of their fields names the entity."""

    subjects: Sequence[Subject]
    key: str


class Waiting:
    """One request's wait for hints about one entity."""

    def __init__(self) -> None:
        self._hinted = asyncio.Event()

    def hint(self) -> None:
        self._hinted.set()

    async def pause(self, seconds: float) -> None:
        """Until a hint arrives (or came since the last pause), or ``seconds`` pass."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._hinted.wait()
        self._hinted.clear()


class ChangeHints:
    def __init__(self, source: HintSource | None) -> None:
        self.source = source
        self._waiting: dict[str, set[Waiting]] = {}
        self._listening = False

    @property
    def listening(self) -> bool:
        return self._listening

    @property
    def watched(self) -> int:
        """How many entities requests are waiting on."""
        return len(self._waiting)

    @contextlib.contextmanager
    def watch(self, key: str) -> Iterator[Waiting]:
        """Hints about ``key`` while the block runs. Enter it before reading the entity,
        so that a change committed after that read cannot go unheard."""
        waiting = Waiting()
        self._waiting.setdefault(key, set()).add(waiting)
        try:
            yield waiting
        finally:
            others = self._waiting.get(key, set())
            others.discard(waiting)
            if not others:
                self._waiting.pop(key, None)

    async def listen(self, bus: Bus) -> None:
        """Hears the source's events until cancelled; nats-py resubscribes by itself
        after a reconnection."""
        assert self.source is not None
        client = await bus.client()
        subscriptions = [
            await client.subscribe(subject.value, cb=self._on_event)
            for subject in self.source.subjects
        ]
        self._listening = True
        try:
            await asyncio.Event().wait()
        finally:
            self._listening = False
            for subscription in subscriptions:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()

    async def _on_event(self, message: Msg) -> None:
        if not self._waiting:
            return
        assert self.source is not None
        try:
            key = json.loads(message.data).get(self.source.key)
        except (ValueError, AttributeError):
            return
        for waiting in self._waiting.get(str(key), ()):
            waiting.hint()
