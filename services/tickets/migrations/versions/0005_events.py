"""events: dated events at venues; tickets name their event and seat; full-text search

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 16:00:00.000000

Full-text search is the database's own: on PostgreSQL a GIN index over a tsvector of the
folded text, on SQLite an FTS5 table kept in step by triggers. Neither is described by the
models (``unmanaged_tables`` / ``UNMANAGED_INDEXES``), so autogenerate leaves them alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The text each full-text index reads, by table: its id column and the FTS5 table's name.
_SEARCHED = {"events": "event_id", "tickets": "ticket_id"}


def _sqlite_fts(table: str, id_column: str) -> None:
    fts = f"{table}_fts"
    # unicode61 with remove_diacritics 2 folds case and accents of the query's words too.
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5("
        f"{id_column} UNINDEXED, search_text, tokenize = 'unicode61 remove_diacritics 2')"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts} ({id_column}, search_text) VALUES (NEW.id, NEW.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE {id_column} = OLD.id; "
        f"INSERT INTO {fts} ({id_column}, search_text) VALUES (NEW.id, NEW.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE {id_column} = OLD.id; END"
    )
    op.execute(f"INSERT INTO {fts} ({id_column}, search_text) SELECT id, search_text FROM {table}")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("venue", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("utc_offset_minutes", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("search_text", sa.String(length=600), nullable=False),
        sa.Column("city_key", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events") as batch_op:
        batch_op.create_index("ix_events_starts_at", ["starts_at", "id"], unique=False)
        batch_op.create_index(
            "ix_events_city_key_starts_at", ["city_key", "starts_at"], unique=False
        )
        batch_op.create_index("ix_events_created_at", ["created_at", "id"], unique=False)

    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("section", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("row", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("seat", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("search_text", sa.String(length=800), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_event_id_events"), "events", ["event_id"], ["id"]
        )
        batch_op.create_index(
            "ix_tickets_event_for_sale", ["event_id", "status", "price_cents"], unique=False
        )
    # The titles listed so far, searchable (folded as well as SQL can: lower case).
    op.execute("UPDATE tickets SET search_text = lower(title)")

    if op.get_bind().dialect.name == "sqlite":
        for table, id_column in _SEARCHED.items():
            _sqlite_fts(table, id_column)
    else:
        for table in _SEARCHED:
            op.execute(
                f"CREATE INDEX ix_{table}_search ON {table} "
                f"USING gin (to_tsvector('simple'::regconfig, search_text))"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in _SEARCHED:
            op.execute(f"DROP TABLE {table}_fts")
            for trigger in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{trigger}")
    else:
        for table in _SEARCHED:
            op.execute(f"DROP INDEX ix_{table}_search")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index("ix_tickets_event_for_sale")
        batch_op.drop_constraint(batch_op.f("fk_tickets_event_id_events"), type_="foreignkey")
        batch_op.drop_column("search_text")
        batch_op.drop_column("seat")
        batch_op.drop_column("row")
        batch_op.drop_column("section")
        batch_op.drop_column("event_id")
    op.drop_table("events")
