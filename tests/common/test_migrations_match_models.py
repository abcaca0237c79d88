"""Each service's migrations build exactly the tables its models describe (the shared
ones included, which their own chain migrates in every service's database)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from services.common.data.db import Database
from services.common.data.migrations import SHARED_VERSION_TABLE, include_name, upgrade
from services.common.settings import SERVICE_NAMES, ServiceName
from services.definitions import load_definition


@pytest.mark.parametrize("service", SERVICE_NAMES)
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_migrations_match_the_models(service: ServiceName, database_url: str) -> None:
    definition = load_definition(service)
    database = Database.connect(database_url, sqlite_driver="aiosqlite")
    try:
        await upgrade(database, definition.migrations)

        def differences(connection: Connection) -> list[object]:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_object": lambda _item, name, *_: name != SHARED_VERSION_TABLE,
                    "include_name": include_name(definition.metadata),
                },
            )
            return list(compare_metadata(context, definition.metadata))

        async with database.write_engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await database.dispose()
