"""A unit of work: one database transaction, with the events it raises.

Nothing is kept unless ``commit()`` is called: leaving the block without it rolls back
the change and its events together. Events are written as outbox rows inside the same
transaction, which is what makes publishing them reliable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.messaging.events import Event
from services.common.observability.tracing import current_traceparent


class UnitOfWork:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        on_events_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._on_events_committed = on_events_committed
        self._events: list[Event] = []
        self._after_commit: list[Callable[[], None]] = []
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "use the unit of work inside `async with`"
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self._events = []
        self._after_commit = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()
            self._session = None

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the change has committed (a figure counted only for what
        was kept); nothing if it rolls back."""
        self._after_commit.append(callback)

    def publish(self, *events: Event) -> None:
        """Raise events; they are written with the change when it commits."""
        self._events.extend(events)

    async def commit(self) -> None:
        events, self._events = self._events, []
        if events:
            now = datetime.now(UTC)
            traceparent = current_traceparent()
            await self.session.execute(
                insert(self._outbox),
                [
                    {
                        "event_id": event.event_id,
                        "subject": event.subject.value,
                        "payload": event.model_dump_json(),
                        "created_at": now,
                        "traceparent": traceparent,
                    }
                    for event in events
                ],
            )
        await self.session.commit()
        if events:
            self._on_events_committed()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
