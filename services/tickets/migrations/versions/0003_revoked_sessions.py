"""revoked_sessions: the sessions signed out, fed by user.sessions_revoked

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:00:00.000000
"""

from services.common.data import shared_schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    shared_schema.create_revoked_sessions()


def downgrade() -> None:
    shared_schema.drop_revoked_sessions()
