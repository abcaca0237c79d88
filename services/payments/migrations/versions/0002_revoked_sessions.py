"""revoked_sessions: the sessions signed out, fed by user.sessions_revoked

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_sessions",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("revoked_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_revoked_sessions")),
    )
    with op.batch_alter_table("revoked_sessions") as batch_op:
        batch_op.create_index("ix_revoked_sessions_revoked_until", ["revoked_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("revoked_sessions") as batch_op:
        batch_op.drop_index("ix_revoked_sessions_revoked_until")
    op.drop_table("revoked_sessions")
