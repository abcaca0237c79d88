"""The shared tables (outbox, banned users, revoked sessions) have one migration chain,
applied to every service's database after its own: a change to them is written once."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from services.common.data import migrations
from services.common.data.db import Database
from services.common.settings import SERVICE_NAMES
from services.definitions import load_definition

A_LATER_CHANGE = '''"""outbox.note: a column every service's outbox gets from one revision

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("note")
'''


async def test_one_shared_revision_reaches_every_services_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = tmp_path / "shared_migrations"
    shutil.copytree(
        migrations.SHARED_MIGRATIONS, chain, ignore=shutil.ignore_patterns("__pycache__")
    )
    (chain / "versions" / "0002_outbox_note.py").write_text(A_LATER_CHANGE)
    monkeypatch.setattr(migrations, "SHARED_MIGRATIONS", chain)

    for service in SERVICE_NAMES:
        path = tmp_path / f"{service}.db"
        database = Database.connect(f"sqlite+aiosqlite:///{path}", sqlite_driver="aiosqlite")
        try:
            await migrations.upgrade(database, load_definition(service).migrations)
            # Again: a database already at both heads is left as it is.
            await migrations.upgrade(database, load_definition(service).migrations)
        finally:
            await database.dispose()
        with sqlite3.connect(path) as connection:
            columns = {row[1] for row in connection.execute("PRAGMA table_info(outbox)")}
            shared = connection.execute(
                f"SELECT version_num FROM {migrations.SHARED_VERSION_TABLE}"
            )
            own = connection.execute("SELECT version_num FROM alembic_version")
            assert "note" in columns, service
            assert [row[0] for row in shared] == ["0002"]
            assert len(list(own)) == 1


def test_a_services_autogenerate_leaves_the_shared_tables_alone() -> None:
    assert {"outbox", "banned_users", "revoked_sessions"} == migrations.SHARED_TABLES
    for name in migrations.SHARED_TABLES | {migrations.SHARED_VERSION_TABLE}:
        assert not migrations.is_own_table(name)
    assert migrations.is_own_table("tickets")
