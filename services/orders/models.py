"""The orders service's tables: orders, and a replica of tickets fed by ticket events."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, ForeignKey, Index, String, Uuid, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.clock import utc_now
from services.common.data.db import new_metadata
from services.common.data.tables import common_tables
from services.common.messaging.events import TicketStatus
from workflows.contracts import CancelReason, OrderStatus


class Base(DeclarativeBase):
    metadata = new_metadata()


tables = common_tables(Base.metadata)


class Ticket(Base):
    """What the orders service knows of a ticket, as of the last ``ticket.*`` applied.

    Used to show an order's ticket and to refuse unknown or own tickets; the lock itself
    is decided by the tickets service.
    """

    __tablename__ = "tickets"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int]
    user_id: Mapped[UUID] = mapped_column(Uuid)
    status: Mapped[TicketStatus] = mapped_column(String(16))
    order_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)
    # When its event starts (None: no event, no date given): from then on it sells nothing.
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The version of the last event applied (set from events, never bumped here).
    version: Mapped[int]


# An order that holds its ticket, or is about to, or bought it. At most one per ticket:
# the rush gate, decided by the database (the unique index below) before any saga starts.
LIVE_STATUSES = (OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT, OrderStatus.COMPLETE)
# Not yet paid, and holding (or about to hold) a ticket.
OPEN_STATUSES = (OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT)
_IS_LIVE = text("status IN ({})".format(", ".join(f"'{status}'" for status in LIVE_STATUSES)))


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    user_id: Mapped[UUID] = mapped_column(Uuid)
    ticket_id: Mapped[UUID] = mapped_column(ForeignKey("tickets.id"))
    status: Mapped[OrderStatus] = mapped_column(String(32), default=OrderStatus.CREATED)
    # What the charge takes: the replica's price when ordered, then the one the saga's lock
    # on the ticket found (mark_awaiting_payment), whatever the ticket says later.
    price_cents: Mapped[int]
    # The end of the payment window, set when the ticket is locked.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # Why a cancelled order was cancelled: expired, cancelled (by the buyer), ...
    cancel_reason: Mapped[CancelReason | None] = mapped_column(String(32), default=None)
    # A cancelled order whose charge was returned (say, a card authentication that
    # succeeded once the order no longer awaited payment).
    refunded: Mapped[bool] = mapped_column(default=False, server_default=false())
    version: Mapped[int] = mapped_column(nullable=False)

    ticket: Mapped[Ticket] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_orders_user_id_created_at", "user_id", "created_at"),
        Index(
            "uq_orders_live_ticket_id",
            "ticket_id",
            unique=True,
            sqlite_where=_IS_LIVE,
            postgresql_where=_IS_LIVE,
        ),
    )
