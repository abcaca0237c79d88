"""outbox.traceparent: the trace an event belongs to, carried on to its NATS message

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:00:00.000000
"""

from services.common.data import shared_schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    shared_schema.add_outbox_traceparent()


def downgrade() -> None:
    shared_schema.drop_outbox_traceparent()
