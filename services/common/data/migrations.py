"""Alembic, driven from code: one script folder per service, no alembic.ini.

A service applies its migrations when it starts (``migrate_on_start``) or through
``ticketing migrate``. Each service's ``migrations/env.py`` is two lines calling
``run_env`` with the service's metadata.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.data.db import Database, is_sqlite

# Any constant will do: it only keeps two processes from migrating one database at once.
_PG_MIGRATION_LOCK = 7_283_110


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(database: Database, script_location: Path) -> None:
    config = alembic_config(script_location, database.url)

    def _upgrade(connection: Connection) -> None:
        if not is_sqlite(database.url):
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with database.write_engine.begin() as connection:
        await connection.run_sync(_upgrade)


def make_revision(script_location: Path, url: str, message: str) -> None:
    """Autogenerate a revision from the difference between the models and ``url``.

    Revisions are numbered 0001, 0002, ... so that a folder listing reads as history.
    """
    number = len(list((script_location / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))) + 1
    command.revision(
        alembic_config(script_location, url),
        message=message,
        autogenerate=True,
        rev_id=f"{number:04d}",
    )


def include_name(metadata: MetaData) -> Callable[[str | None, str, Any], bool]:
    """Autogenerate's filter: it leaves alone what the migrations build and the models
    cannot describe, named in the metadata's ``info``: ``unmanaged_tables`` (with the
    tables whose names they start, such as an SQLite FTS5 table's shadow tables) and
    ``unmanaged_indexes``."""
    tables = tuple(metadata.info.get("unmanaged_tables", ()))
    indexes = frozenset(metadata.info.get("unmanaged_indexes", ()))

    def _include(name: str | None, type_: str, _parent: Any) -> bool:
        if name is None:
            return True
        if type_ == "table":
            return not (tables and name.startswith(tables))
        return not (type_ == "index" and name in indexes)

    return _include


def run_env(metadata: MetaData) -> None:
    """The body of every service's env.py."""

    def _run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_name=include_name(metadata),
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    connection: Any = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return

    async def _online() -> None:
        engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "")
        async with engine.begin() as async_connection:
            await async_connection.run_sync(_run)
        await engine.dispose()

    asyncio.run(_online())
