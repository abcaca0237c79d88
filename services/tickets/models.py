"""The tickets service's tables: tickets (the source of truth for the lock), and the dated
events at venues they are tickets for."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.clock import utc_now
from services.common.data.db import new_metadata
from services.common.data.tables import common_tables
from services.common.messaging.events import TicketStatus


class Base(DeclarativeBase):
    metadata = new_metadata()


tables = common_tables(Base.metadata)

# Full-text indexes the models cannot describe (an FTS5 table on SQLite, with its shadow
# tables): built by the migrations, left alone by autogenerate.
Base.metadata.info["unmanaged_tables"] = ("events_fts", "tickets_fts")
Base.metadata.info["unmanaged_indexes"] = ("ix_events_search", "ix_tickets_search")


class Event(Base):
    """A dated event at a venue: what buyers look for. Tickets are for an event."""

    __tablename__ = "events"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    name: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    # The instants, in UTC; the offset the start was given with says the local time.
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    utc_offset_minutes: Mapped[int] = mapped_column(default=0)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # Who created it: they (or an admin) may edit it.
    user_id: Mapped[UUID] = mapped_column(Uuid)
    # Name, venue and city folded (lower case, no accents): what full-text search reads.
    search_text: Mapped[str] = mapped_column(String(600))
    # The city folded: the city filter matches it exactly.
    city_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_events_starts_at", "starts_at", "id"),
        Index("ix_events_city_key_starts_at", "city_key", "starts_at"),
        Index("ix_events_created_at", "created_at", "id"),
    )


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
    # The event it is a ticket for; None for a ticket listed without one ("date not given").
    event_id: Mapped[UUID | None] = mapped_column(ForeignKey("events.id"), default=None)
    section: Mapped[str | None] = mapped_column(String(40), default=None)
    row: Mapped[str | None] = mapped_column(String(20), default=None)
    seat: Mapped[str | None] = mapped_column(String(20), default=None)
    # The title and the event's name, venue and city folded: what full-text search reads.
    search_text: Mapped[str] = mapped_column(String(800), default="", server_default="")

    # Loaded with the ticket: every answer and every ticket event carries the event's date.
    event: Mapped[Event | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_tickets_for_sale", "status", "created_at"),
        Index("ix_tickets_event_for_sale", "event_id", "status", "price_cents"),
    )


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
