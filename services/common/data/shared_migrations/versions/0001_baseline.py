"""baseline: the shared tables (outbox, banned_users, revoked_sessions) as each service's
own revisions built them; every later change to them is a revision here, applied to every
service's database

Revision ID: 0001
Revises:
Create Date: 2026-12-06 16:00:00.000000
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
