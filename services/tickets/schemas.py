"""Request and response bodies of /api/tickets."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints
from sqlalchemy import Row

from services.common.clock import as_utc, utc_now
from services.common.http.schemas import ApiModel
from services.common.messaging.events import TicketStatus
from services.common.money import PriceInput, PriceOutput, from_cents
from services.tickets.event_schemas import EventSummary, local_time
from services.tickets.models import Ticket


def _not_blank(title: str) -> str:
    if not title:
        raise ValueError("Title must not be blank")
    # Control characters (Cc) and invisible formatting ones (Cf: zero-width spaces, the
    # bidirectional overrides that show a title reversed): a listing shows what it says.
    if any(unicodedata.category(character) in ("Cc", "Cf") for character in title):
        raise ValueError("Title must not contain invisible or control characters")
    return title


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_not_blank)
]

# What Stripe can charge in US dollars: from $0.50 to $999,999.99. A listing outside it
# could never be paid (and each try would count as a buyer's declined card).
LEAST_CHARGE = Decimal("0.50")
MOST_CHARGE = Decimal("999999.99")


def _chargeable(price: Decimal) -> Decimal:
    if price < LEAST_CHARGE:
        raise ValueError(f"Price must be at least {LEAST_CHARGE} (the least a card can be charged)")
    if price > MOST_CHARGE:
        raise ValueError(f"Price must be at most {MOST_CHARGE:,} (the most a card can be charged)")
    return price


ListingPrice = Annotated[PriceInput, AfterValidator(_chargeable)]


# A row of the for-sale page: the columns TicketOut shows, then its event's.
PageRow = Row[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, *tuple[Any, ...]]

SeatPart = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]


class TicketIn(ApiModel):
    title: Title = Field(description="Title of the ticket; not blank.")
    price: ListingPrice = Field(
        description="Price in major units, e.g. 20.5: from 0.50 to 999999.99, what a card "
        "can be charged."
    )
    event_id: UUID | None = Field(
        default=None,
        description="The event it is a ticket for (not started); without one the ticket "
        'shows "date not given". Left out of an edit: the event stays.',
    )
    section: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    row: SeatPart | None = None
    seat: SeatPart | None = None


class TicketOut(ApiModel):
    id: UUID
    title: str
    price: PriceOutput
    user_id: UUID
    version: int
    order_id: UUID | None
    status: TicketStatus = Field(description="available (for sale), reserved, or sold.")
    event_id: UUID | None = Field(description="null: the date is not given.")
    event: EventSummary | None = Field(description="The event's name, venue, city and times.")
    section: str | None
    row: str | None
    seat: str | None

    @classmethod
    def of(cls, ticket: Ticket) -> TicketOut:
        """From our own row, so unvalidated."""
        return cls.model_construct(
            id=ticket.id,
            title=ticket.title,
            price=from_cents(ticket.price_cents),
            user_id=ticket.user_id,
            version=ticket.version,
            order_id=ticket.order_id,
            status=TicketStatus(ticket.status),
            event_id=ticket.event_id,
            event=None if ticket.event is None else EventSummary.of(ticket.event),
            section=ticket.section,
            row=ticket.row,
            seat=ticket.seat,
        )

    @classmethod
    def of_row(cls, row: PageRow) -> TicketOut:
        """From a row of the for-sale page (plain columns; the busiest route builds a page
        of these)."""
        return cls.model_construct(
            id=row.id,
            title=row.title,
            price=from_cents(row.price_cents),
            user_id=row.user_id,
            version=row.version,
            order_id=row.order_id,
            status=TicketStatus(row.status),
            event_id=row.event_id,
            event=None
            if row.event_id is None
            else EventSummary.model_construct(
                id=row.event_id,
                name=row.event_name,
                venue=row.venue,
                city=row.city,
                starts_at=local_time(row.starts_at, row.utc_offset_minutes),
                ends_at=local_time(row.ends_at, row.utc_offset_minutes),
            ),
            section=row.section,
            row=row.row,
            seat=row.seat,
        )


class MyTicketOut(TicketOut):
    reserved_until: datetime | None = Field(
        description="While reserved: when the buyer's payment window ends."
    )
    event_passed: bool = Field(
        description='Its event has started: it is no longer for sale ("event passed").'
    )

    @classmethod
    def of(cls, ticket: Ticket) -> MyTicketOut:
        return cls.model_construct(
            # Its fields as they are (a dump would turn the event into a plain dict).
            **TicketOut.of(ticket).__dict__,
            # SQLite hands a stored instant back without its zone: it was stored in UTC.
            reserved_until=as_utc(ticket.reserved_until)
            if ticket.status == TicketStatus.RESERVED and ticket.reserved_until is not None
            else None,
            event_passed=ticket.event is not None and as_utc(ticket.event.starts_at) <= utc_now(),
        )
