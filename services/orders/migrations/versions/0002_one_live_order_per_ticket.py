"""One live order per ticket (created, awaiting:payment or complete): the rush gate

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 13:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

IS_LIVE = sa.text("status IN ('created', 'awaiting:payment', 'complete')")


def upgrade() -> None:
    op.create_index(
        "uq_orders_live_ticket_id",
        "orders",
        ["ticket_id"],
        unique=True,
        sqlite_where=IS_LIVE,
        postgresql_where=IS_LIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_orders_live_ticket_id", table_name="orders")
