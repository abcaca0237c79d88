"""An SQLite connection that SQLAlchemy's ``aiosqlite`` dialect drives on the event loop's
own thread.

Why not aiosqlite's thread: each of its calls is a round trip to a worker thread and back
(a queue put, a thread wake-up, a loop wake-up), and SQLAlchemy makes about four per
statement (cursor, execute, fetch, close), so a one-row read costs about nine. SQLite
answers such a read in microseconds from its page cache; the round trips cost a
hundred times more CPU than the work, on every request, activity and event.

What would block the loop instead: waiting for a lock. So the connection never lets
SQLite wait (``busy_timeout`` 0): a statement refused with SQLITE_BUSY is retried after an
``asyncio.sleep``, with a growing pause, until ``lock_timeout`` seconds have passed. Retrying
is safe because a statement refused with SQLITE_BUSY changed nothing. With WAL, readers
are never refused; a writer is refused only at ``BEGIN IMMEDIATE`` while another
connection (this process's or another's) holds the write lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

T = TypeVar("T")

FIRST_PAUSE_SECONDS = 0.001
LONGEST_PAUSE_SECONDS = 0.05
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    # Never sleep inside SQLite: that would stop the event loop.
    "PRAGMA busy_timeout=0",
)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class InlineCursor:
    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._owner = connection
        self._cursor = cursor

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Self:
        await self._owner.run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Self:
        rows = list(parameters)  # a retry must see the rows again
        await self._owner.run(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return await self._owner.run(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self._cursor.arraysize if size is None else size
        return await self._owner.run(self._cursor.fetchmany, size)

    async def fetchall(self) -> list[Any]:
        return await self._owner.run(self._cursor.fetchall)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """The part of ``aiosqlite.Connection`` that SQLAlchemy's dialect uses."""

    def __init__(self, connection: sqlite3.Connection, timeout: float) -> None:
        # Named as in aiosqlite: the dialect checks it before commit and rollback.
        self._connection: sqlite3.Connection | None = connection
        self._timeout = timeout

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` now, or after the lock it waits for is free."""
        try:
            return call(*args)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        pause = FIRST_PAUSE_SECONDS
        while True:
            await asyncio.sleep(pause)
            try:
                return call(*args)
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or loop.time() >= deadline:
                    raise
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._open.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await self.run(self._open.commit)

    async def rollback(self) -> None:
        await self.run(self._open.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._open.isolation_level

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


async def connect(database: str, *, lock_timeout: float) -> InlineConnection:
    """A connection in autocommit mode (the engine emits BEGIN itself), WAL journal."""
    connection = sqlite3.connect(database, timeout=0, isolation_level=None, check_same_thread=False)
    inline = InlineConnection(connection, lock_timeout)
    for pragma in PRAGMAS:
        await inline.run(connection.execute, pragma)
    return inline
