"""The events a ticket raises, built from its row."""

from __future__ import annotations

from typing import Any

from services.common.messaging.events import TicketCreated, TicketUpdated
from services.tickets.models import Ticket


def _state(ticket: Ticket) -> dict[str, Any]:
    """Both events carry the whole ticket: a replica needs no other source."""
    return {
        "version": ticket.version,
        "ticket_id": ticket.id,
        "title": ticket.title,
        "price_cents": ticket.price_cents,
        "user_id": ticket.user_id,
        "status": ticket.status,
        "order_id": ticket.order_id,
    }


def ticket_created(ticket: Ticket) -> TicketCreated:
    return TicketCreated(**_state(ticket))


def ticket_updated(ticket: Ticket) -> TicketUpdated:
    return TicketUpdated(**_state(ticket))
