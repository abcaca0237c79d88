"""Request and response bodies of /api/orders."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from services.common.clock import as_utc
from services.common.http.schemas import ApiModel
from services.common.money import PriceInput, PriceOutput, from_cents
from services.orders.models import Order, Ticket


class OrderIn(ApiModel):
    ticket_id: UUID = Field(description="The ticket to buy.")
    price: PriceInput | None = Field(
        default=None,
        description="The price the buyer saw: if the ticket is locked at another, 409 "
        '"Ticket price changed" and nothing stays held.',
    )


class OrderTicketOut(ApiModel):
    id: UUID
    title: str
    price: PriceOutput

    @classmethod
    def of(cls, ticket: Ticket, price_cents: int) -> OrderTicketOut:
        return cls(id=ticket.id, title=ticket.title, price=from_cents(price_cents))


class OrderOut(ApiModel):
    id: UUID
    status: str
    expires_at: datetime | None
    cancel_reason: str | None = Field(
        description="Why a cancelled order was: expired (the window ended unpaid), "
        "cancelled (by the buyer), ticket_unavailable, price_changed, completion_refused "
        "(paid, but the sale could not complete: refunded); else null."
    )
    refunded: bool = Field(
        description="A cancelled order whose charge was returned to the card (a payment "
        "that succeeded once the order no longer awaited it)."
    )
    user_id: UUID
    version: int
    ticket: OrderTicketOut

    @classmethod
    def of(cls, order: Order, ticket: Ticket) -> OrderOut:
        return cls(
            id=order.id,
            status=order.status,
            expires_at=as_utc(order.expires_at) if order.expires_at else None,
            cancel_reason=order.cancel_reason,
            refunded=order.refunded,
            user_id=order.user_id,
            version=order.version,
            # What the order costs: the price its lock fixed.
            ticket=OrderTicketOut.of(ticket, order.price_cents),
        )
