"""The tickets service's tables: tickets (the source of truth for the lock)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.clock import utc_now
from services.common.data.db import new_metadata
from services.common.data.tables import common_tables
from services.common.messaging.events import TicketStatus


class Base(DeclarativeBase):
    metadata = new_metadata()


tables = common_tables(Base.metadata)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    title: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int]
    user_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    status: Mapped[TicketStatus] = mapped_column(String(16), default=TicketStatus.AVAILABLE)
    # The order holding the ticket while it is reserved, or that bought it.
    order_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)
    # While reserved: the end of the holding order's payment window (from order.created).
    reserved_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # Optimistic concurrency: an UPDATE that finds another version changes nothing.
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_tickets_for_sale", "status", "created_at"),)
