"""How the tickets service refuses (services.common.errors says how each kind is answered)."""

from __future__ import annotations

from services.common.errors import InvalidInput, Missing, NotPermitted, StateConflict


class TicketNotFound(Missing):
    default_message = "Ticket not found"


class NotTicketOwner(NotPermitted):
    default_message = "You do not own this ticket"


class TicketReserved(StateConflict):
    """An edit while an order holds the ticket: the lock fixes the price."""

    default_message = "Cannot edit a reserved ticket"


class TicketSold(StateConflict):
    default_message = "Cannot edit a sold ticket"


class NotTicketHolder(NotPermitted):
    default_message = "You do not hold this ticket"


class GateOnly(NotPermitted):
    default_message = "Only gate staff can check entry codes"


class UnknownEntryCode(InvalidInput):
    """Forged, altered, signed with a key we do not hold, or never issued."""

    default_message = "Unknown entry code"
    default_field = "code"


class EntryCodeVoid(StateConflict):
    """A code of an earlier holder: the ticket was sold (re-issued) since."""

    default_message = "This code was replaced"


class EntryCodeUsed(StateConflict):
    default_message = "This ticket was already checked in"


class TicketNotHeld(StateConflict):
    """A ticket with no holder (sold before holders were recorded): no code to show."""

    default_message = "This ticket has no holder"


class TicketUsed(StateConflict):
    default_message = "This ticket was already used"


class TicketOnSale(StateConflict):
    default_message = "This ticket is already for sale"


class ResalePriceTooHigh(InvalidInput):
    """Above the resale cap; the message says the most it may be."""

    default_message = "Price is above what a resale may ask"
    default_field = "price"
