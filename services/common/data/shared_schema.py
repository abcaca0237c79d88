"""The shared tables' schema changes made before they had a migration chain of their own:
each service's revision of that time calls these, so each change is written once.

From the ``shared_migrations`` baseline on, a change to a shared table is a revision in
``services/common/data/shared_migrations/versions`` instead, applied to every service's
database (``services.common.data.migrations.upgrade``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_revoked_sessions() -> None:
    op.create_table(
        "revoked_sessions",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("revoked_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_revoked_sessions")),
    )
    with op.batch_alter_table("revoked_sessions") as batch_op:
        batch_op.create_index("ix_revoked_sessions_revoked_until", ["revoked_until"], unique=False)


def drop_revoked_sessions() -> None:
    with op.batch_alter_table("revoked_sessions") as batch_op:
        batch_op.drop_index("ix_revoked_sessions_revoked_until")
    op.drop_table("revoked_sessions")


def add_outbox_traceparent() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))


def drop_outbox_traceparent() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("traceparent")
