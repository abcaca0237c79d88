"""SQLite on the event loop's thread: a writer kept waiting by another connection's lock
awaits it without stopping the loop, and gives up with "database is locked" after its
timeout."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, text

from services.common.data import sqlite_inline
from services.common.data.db import Database, SqliteDriver


@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[None]:
    """Another process's writer, as far as SQLite can tell: its own connection holds
    the write lock for ``seconds`` from another thread."""
    taken = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait()
    try:
        yield
    finally:
        holder.join()


async def ticks_while(work: asyncio.Future[Any]) -> int:
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_a_waiting_writer_leaves_the_loop_running(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    database = Database.connect(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.write_sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE counter (n INTEGER)"))

        async def write() -> None:
            async with database.write_sessions() as session, session.begin():
                await session.execute(text("INSERT INTO counter VALUES (1)"))

        with write_lock_held(path, 0.5):
            started = time.monotonic()
            writing = asyncio.ensure_future(write())
            ticks = await ticks_while(writing)
            await writing
        waited = time.monotonic() - started

        assert waited >= 0.4, "the write went through while the lock was held"
        # The loop went on ticking (every 10 ms) during the wait.
        assert ticks >= 20, ticks
        async with database.read_sessions() as session:
            assert (await session.execute(text("SELECT count(*) FROM counter"))).scalar() == 1
    finally:
        await database.dispose()


async def test_a_writer_gives_up_after_its_lock_timeout(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    connection = await sqlite_inline.connect(str(path), lock_timeout=0.2)
    try:
        with write_lock_held(path, 1.0):
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await connection.execute("BEGIN IMMEDIATE")
            gave_up_after = time.monotonic() - started
        assert 0.2 <= gave_up_after < 0.9, gave_up_after
    finally:
        await connection.close()


async def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    connection = await sqlite_inline.connect(str(tmp_path / "app.db"), lock_timeout=5)
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await connection.execute("SELECT * FROM missing")
        assert time.monotonic() - started < 0.1
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("driver", "connection_type"),
    [("inline", sqlite_inline.InlineConnection), ("aiosqlite", aiosqlite.Connection)],
)
async def test_the_sqlite_driver_is_a_setting(
    tmp_path: Path, driver: SqliteDriver, connection_type: type
) -> None:
    """Both drivers run the same code: a write waits for another writer's lock, in WAL."""
    path = tmp_path / "app.db"
    database = Database.connect(f"sqlite+aiosqlite:///{path}", sqlite_driver=driver)
    try:
        async with database.write_sessions() as session, session.begin():
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, connection_type)
            await session.execute(text("CREATE TABLE counter (n INTEGER)"))
        with write_lock_held(path, 0.3):
            async with database.write_sessions() as session, session.begin():
                await session.execute(text("INSERT INTO counter VALUES (1)"))
        async with database.read_sessions() as session:
            assert await session.scalar(text("SELECT count(*) FROM counter")) == 1
            assert await session.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        await database.dispose()


async def test_connections_are_kept_for_the_next_request(tmp_path: Path) -> None:
    """Ten requests at once hold ten connections; the next ten reuse them rather than
    opening (and closing) a connection each."""
    database = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(database.read_engine.sync_engine, "connect", count)

    async def request() -> None:
        async with database.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            await asyncio.sleep(0.01)  # the rest of a request, its connection held

    try:
        for _ in range(5):
            await asyncio.gather(*(request() for _ in range(10)))
        assert opened == 10
    finally:
        await database.dispose()
