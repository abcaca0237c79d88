"""Database engines and the declarative base every service's models build on.

SQLite (the embedded default) and PostgreSQL run the same code. On SQLite a write
transaction starts with ``BEGIN IMMEDIATE`` so that two writers queue for the lock
instead of failing when one upgrades a read lock; reads keep plain deferred
transactions so they never wait for a writer (WAL). SQLite statements run on the event
loop's thread (see ``sqlite_inline``), or, with ``SQLITE_DRIVER=aiosqlite``, on aiosqlite's
own thread as SQLAlchemy ships it: the measured fast path, and the plain one to fall
back on.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiosqlite
from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.common.data import sqlite_inline

# How long a writer waits for another to release SQLite's write lock.
LOCK_TIMEOUT_SECONDS = 30.0
# SQLite connections an engine keeps open: as many as SQLAlchemy's default allows at
# once (5 kept and 10 overflow), all kept. A request holds its connection across awaits,
# so ten requests at once hold ten; each connection past the fifth was opened and closed
# again per use, and opening one (its file, its PRAGMAs) cost more than the request's
# query. SQLite connections are small and opened only when needed.
SQLITE_POOL_SIZE = 15

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """Each service owns its own metadata: its tables live in its own database."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


SqliteDriver = Literal["inline", "aiosqlite"]


async def _aiosqlite_connect(database: str, *, lock_timeout: float) -> aiosqlite.Connection:
    """Autocommit (the engine emits BEGIN itself), WAL; SQLite may wait for a lock here,
    since it waits on aiosqlite's thread, not the event loop's."""
    connection = await aiosqlite.connect(database, timeout=lock_timeout, isolation_level=None)
    for pragma in sqlite_inline.PRAGMAS:
        if "busy_timeout" not in pragma:
            await connection.execute(pragma)
    return connection


def _sqlite_engine(url: str, *, begin: str, driver: SqliteDriver) -> AsyncEngine:
    database = make_url(url).database or ":memory:"
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect = sqlite_inline.connect if driver == "inline" else _aiosqlite_connect
    engine = create_async_engine(
        url,
        async_creator=functools.partial(connect, database, lock_timeout=LOCK_TIMEOUT_SECONDS),
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=0,
    )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # On the driver's own cursor: every request, activity and event starts a
        # transaction, and exec_driver_sql's machinery costs several times the statement.
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(begin)
        finally:
            cursor.close()

    return engine


@dataclass
class Database:
    """The engines of one service's database: one for writes, one for reads."""

    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    write_sessions: async_sessionmaker[AsyncSession] = field(init=False)
    read_sessions: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @classmethod
    def connect(cls, url: str, *, sqlite_driver: SqliteDriver = "inline") -> Database:
        if is_sqlite(url):
            return cls(
                url,
                write_engine=_sqlite_engine(url, begin="BEGIN IMMEDIATE", driver=sqlite_driver),
                read_engine=_sqlite_engine(url, begin="BEGIN", driver=sqlite_driver),
            )
        engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        return cls(url, engine, engine)

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
