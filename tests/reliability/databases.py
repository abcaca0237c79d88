"""The services' databases as the harness sees them: which engine they run on, where each
service's lives, and a read-only view through SQLAlchemy that answers alike on both.

The view opens a connection per query, as a fresh reader sees the latest commit, and
cannot write: SQLite is opened ``mode=ro`` and PostgreSQL sessions are read-only, so a
check can never repair what it is checking.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Literal
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from services.common.data.db import LOCK_TIMEOUT_SECONDS, is_sqlite
from services.common.settings import SERVICE_NAMES, ServiceName
from tests.support.ports import free_port
from tests.support.postgres import PostgresCluster

Backend = Literal["sqlite", "postgresql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql")


def postgres_urls(cluster: PostgresCluster) -> dict[ServiceName, str]:
    """A fresh database per service, as production runs them."""
    return {service: cluster.new_database_url() for service in SERVICE_NAMES}


@contextmanager
def throwaway_databases(backend: Backend) -> Iterator[dict[ServiceName, str] | None]:
    """Each service's database on ``backend``, for a run outside the test suite: None for
    SQLite (the stack's default files), else databases on a cluster deleted afterwards."""
    if backend == "sqlite":
        yield None
        return
    cluster = PostgresCluster(port=free_port())
    cluster.start()
    try:
        yield postgres_urls(cluster)
    finally:
        cluster.stop()


def _reader(url: str) -> AsyncEngine:
    if is_sqlite(url):
        parsed = make_url(url)
        read_only = parsed.set(
            database=f"file:{parsed.database}", query={"mode": "ro", "uri": "true"}
        )
        # The services may hold the write lock for a while under load: wait as they do.
        return create_async_engine(
            read_only, poolclass=NullPool, connect_args={"timeout": LOCK_TIMEOUT_SECONDS}
        )
    return create_async_engine(
        url,
        poolclass=NullPool,
        connect_args={"server_settings": {"default_transaction_read_only": "on"}},
    )


def _plain(value: object) -> object:
    # SQLite keeps a UUID column as 32 hex digits, PostgreSQL as a uuid: one spelling
    # lets rows from either be compared and joined across services.
    return value.hex if isinstance(value, UUID) else value


class ServiceDatabases:
    def __init__(self, urls: Mapping[ServiceName, str]) -> None:
        self.urls = dict(urls)
        self.backend: Backend = "sqlite" if is_sqlite(self.urls["orders"]) else "postgresql"
        self._readers = {service: _reader(url) for service, url in self.urls.items()}

    async def rows(self, service: ServiceName, sql: str) -> list[tuple[object, ...]]:
        async with self._readers[service].connect() as connection:
            result = await connection.execute(text(sql))
            return [tuple(_plain(value) for value in row) for row in result]

    async def count(self, service: ServiceName, table: str) -> int:
        ((count,),) = await self.rows(service, f"SELECT count(*) FROM {table}")
        assert isinstance(count, int)
        return count
