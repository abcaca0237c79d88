"""Request and response bodies of /api/tickets."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints
from sqlalchemy import Row

from services.common.clock import as_utc
from services.common.http.schemas import ApiModel
from services.common.messaging.events import TicketStatus
from services.common.money import PriceInput, PriceOutput, from_cents
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


# A row of the for-sale page: the seven columns TicketOut shows.
PageRow = Row[Any, Any, Any, Any, Any, Any, Any]


class TicketIn(ApiModel):
    title: Title = Field(description="Title of the ticket; not blank.")
    price: ListingPrice = Field(
        description="Price in major units, e.g. 20.5: from 0.50 to 999999.99, what a card "
        "can be charged."
    )


class TicketOut(ApiModel):
    id: UUID
    title: str
    price: PriceOutput
    user_id: UUID
    version: int
    order_id: UUID | None
    status: TicketStatus = Field(description="available (for sale), reserved, or sold.")

    @classmethod
    def of(cls, ticket: Ticket | PageRow) -> TicketOut:
        """From our own row, so unvalidated (the busiest route builds a page of these)."""
        return cls.model_construct(
            id=ticket.id,
            title=ticket.title,
            price=from_cents(ticket.price_cents),
            user_id=ticket.user_id,
            version=ticket.version,
            order_id=ticket.order_id,
            status=TicketStatus(ticket.status),
        )


class MyTicketOut(TicketOut):
    reserved_until: datetime | None = Field(
        description="While reserved: when the buyer's payment window ends."
    )

    @classmethod
    def of(cls, ticket: Ticket) -> MyTicketOut:  # type: ignore[override]
        return cls.model_construct(
            **TicketOut.of(ticket).model_dump(),
            # SQLite hands a stored instant back without its zone: it was stored in UTC.
            reserved_until=as_utc(ticket.reserved_until)
            if ticket.status == TicketStatus.RESERVED and ticket.reserved_until is not None
            else None,
        )
