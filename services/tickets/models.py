"""The tickets service's tables: tickets (the source of truth for the lock)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, UniqueConstraint, Uuid
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
    # Whose entry code is valid (services.tickets.entry_codes): the seller until the
    # ticket sells, then its buyer. Each new holder is a new generation, which voids the
    # codes of the ones before.
    holder_id: Mapped[UUID | None] = mapped_column(Uuid, default=None, index=True)
    generation: Mapped[int] = mapped_column(default=1, server_default="1")
    # When the current generation's code was checked in at a gate (once only).
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # A holder's resale is a new listing (a new row, so that the orders service sees a
    # ticket never ordered): every listing of one seat shares the first one's id here.
    lineage_id: Mapped[UUID | None] = mapped_column(Uuid, default=None, index=True)
    # A resale's face value: the first listing's price (unset on a first listing, whose
    # price is its face value).
    face_value_cents: Mapped[int | None] = mapped_column(default=None)
    # Optimistic concurrency: an UPDATE that finds another version changes nothing.
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_tickets_for_sale", "status", "created_at"),)


class TicketHolder(Base):
    """The chain of holders: who held the ticket from when, and what they paid for it
    (nothing for whoever listed it first)."""

    __tablename__ = "ticket_holders"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    ticket_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    generation: Mapped[int]
    holder_id: Mapped[UUID | None] = mapped_column(Uuid)
    price_cents: Mapped[int | None] = mapped_column(default=None)
    order_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __table_args__ = (UniqueConstraint("ticket_id", "generation"),)
