"""The events a ticket raises, built from its row."""

from __future__ import annotations

from typing import Any

from services.common.clock import as_utc
from services.common.messaging.events import EventOfTicket, TicketCreated, TicketUpdated
from services.tickets.models import Ticket


def _state(ticket: Ticket) -> dict[str, Any]:
    """Both events carry the whole ticket, and its event's name, place and start: a
    replica needs no other source."""
    event = ticket.event
    return {
        "version": ticket.version,
        "ticket_id": ticket.id,
        "title": ticket.title,
        "price_cents": ticket.price_cents,
        "user_id": ticket.user_id,
        "status": ticket.status,
        "order_id": ticket.order_id,
        "event": None
        if event is None
        else EventOfTicket(
            id=event.id,
            name=event.name,
            venue=event.venue,
            city=event.city,
            starts_at=as_utc(event.starts_at),
        ),
    }


def ticket_created(ticket: Ticket) -> TicketCreated:
    return TicketCreated(**_state(ticket))


def ticket_updated(ticket: Ticket) -> TicketUpdated:
    return TicketUpdated(**_state(ticket))
