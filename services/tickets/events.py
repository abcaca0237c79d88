"""The events a ticket raises, built from its row."""

from __future__ import annotations

from services.common.events import TicketCreated, TicketUpdated
from services.tickets.models import Ticket


def ticket_created(ticket: Ticket) -> TicketCreated:
    return TicketCreated(
        version=ticket.version,
        ticket_id=ticket.id,
        title=ticket.title,
        price_cents=ticket.price_cents,
        user_id=ticket.user_id,
        status=ticket.status,
        order_id=ticket.order_id,
    )


def ticket_updated(ticket: Ticket) -> TicketUpdated:
    return TicketUpdated(
        version=ticket.version,
        ticket_id=ticket.id,
        title=ticket.title,
        price_cents=ticket.price_cents,
        user_id=ticket.user_id,
        status=ticket.status,
        order_id=ticket.order_id,
    )
