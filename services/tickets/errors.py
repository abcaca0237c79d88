"""How the tickets service refuses (services.common.errors says how each kind is answered)."""

from __future__ import annotations

from services.common.errors import Missing, NotPermitted, StateConflict


class TicketNotFound(Missing):
    default_message = "Ticket not found"


class NotTicketOwner(NotPermitted):
    default_message = "You do not own this ticket"


class TicketReserved(StateConflict):
    """An edit while an order holds the ticket: the lock fixes the price."""

    default_message = "Cannot edit a reserved ticket"


class TicketSold(StateConflict):
    default_message = "Cannot edit a sold ticket"
