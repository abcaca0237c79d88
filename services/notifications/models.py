"""The notifications service's tables: the notices it sent (each once per event), and
what it learns from other services' events to write them (who has which address, which
order bought which ticket, what each ticket is called)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import DateTime, Index, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.clock import utc_now
from services.common.data.db import new_metadata
from services.common.data.tables import common_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


tables = common_tables(Base.metadata)


class NoticeKind(StrEnum):
    RECEIPT = "receipt"
    SOLD = "sold"
    HOLD_EXPIRED = "hold_expired"
    ORDER_CANCELLED = "order_cancelled"


class Notice(Base):
    """One notice to one user, written once per event (``event_id`` is unique: a
    replayed event finds its notice written and sends nothing again)."""

    __tablename__ = "notices"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    event_id: Mapped[UUID] = mapped_column(Uuid, unique=True)
    user_id: Mapped[UUID] = mapped_column(Uuid)
    kind: Mapped[NoticeKind] = mapped_column(String(32))
    order_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)
    ticket_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)
    title: Mapped[str] = mapped_column(String(200), default="")
    # The event the ticket is for, as one line ("name, venue, city, start"); "" if none.
    event: Mapped[str] = mapped_column(String(600), default="")
    price_cents: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Its e-mail: sent when, tried how often, next try when (backoff), why it failed.
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (
        Index("ix_notices_user", "user_id", "created_at"),
        Index("ix_notices_unsent", "sent_at", "next_attempt_at"),
    )


class Recipient(Base):
    """A user's address, from user.created and user.updated."""

    __tablename__ = "recipients"

    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    version: Mapped[int]


class OrderCopy(Base):
    """Who placed an order, for which ticket and at what price (from order.created)."""

    __tablename__ = "orders"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[UUID] = mapped_column(Uuid)
    ticket_id: Mapped[UUID] = mapped_column(Uuid)
    price_cents: Mapped[int]


class TicketCopy(Base):
    """A ticket's title, for what the notices say (from ticket.created and .updated)."""

    __tablename__ = "tickets"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(600), default="")
    version: Mapped[int]
