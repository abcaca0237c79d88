"""Holders and entry codes: tickets.holder_id, generation, used_at; ticket_holders

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 16:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("holder_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("generation", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lineage_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("face_value_cents", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_lineage_id"), ["lineage_id"], unique=False)
    # A ticket listed before holders existed: its seller holds it until it sells; one
    # already sold has no known holder (the buyer was never recorded here).
    op.execute("UPDATE tickets SET holder_id = user_id WHERE status <> 'sold'")
    op.execute("UPDATE tickets SET lineage_id = id")
    op.create_table(
        "ticket_holders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_holders")),
        sa.UniqueConstraint("ticket_id", "generation", name=op.f("uq_ticket_holders_ticket_id")),
    )
    with op.batch_alter_table("ticket_holders") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_holders_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_holders") as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_holders_ticket_id"))
    op.drop_table("ticket_holders")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_lineage_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_holder_id"))
        batch_op.drop_column("face_value_cents")
        batch_op.drop_column("lineage_id")
        batch_op.drop_column("used_at")
        batch_op.drop_column("generation")
        batch_op.drop_column("holder_id")
