"""How the orders service refuses (services.common.errors says how each kind is answered).

The saga's refusals reach the orders routes as these too: its purchase client maps a
failure type of ``workflows.contracts.FailureType`` to the error here.
"""

from __future__ import annotations

from services.common.errors import Limited, Missing, NotPermitted, StateConflict


class TicketNotFound(Missing):
    default_message = "Ticket not found"


class OwnTicket(NotPermitted):
    default_message = "You cannot buy your own ticket"


class TicketReserved(StateConflict):
    """Another order holds the ticket (the rush gate, or the tickets service's lock)."""

    default_message = "Ticket is already reserved"


class TicketSold(StateConflict):
    default_message = "Ticket is already sold"


class PriceChanged(StateConflict):
    """The lock found another price than the buyer saw; nothing stays held."""

    default_message = "Ticket price changed"
    default_field = "price"


class TooManyOpenOrders(StateConflict):
    default_message = "You already have too many orders awaiting payment"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} orders awaiting payment: pay for or cancel one first"
        )


class HeldRecently(Limited):
    """The buyer's last order of this ticket ended unpaid (cancelled or expired) too
    recently: a ticket is not held by one buyer window after window."""

    default_message = "Your last order of this ticket ended unpaid: you can order it again later"


class TooManyUnpaidOrders(Limited):
    default_message = "Too many of your orders ended unpaid today: try again later"


class OrderNotFound(Missing):
    default_message = "Order not found"


class NotOrderOwner(NotPermitted):
    default_message = "You do not own this order"


class OrderAlreadyPaid(StateConflict):
    """Cancelling an order that is paid."""

    default_message = "Cannot cancel a paid order"


# The saga's steps on an order (its activities make each a non-retryable failure).


class OrderMissing(Missing):
    default_message = "The order does not exist"


class OrderNotPayable(StateConflict):
    """Completing an order that is no longer awaiting payment."""

    default_message = "The order is not awaiting payment"


class OrderAlreadyCancelled(StateConflict):
    """Marking awaiting payment an order cancelled meanwhile (its saga's start failed)."""

    default_message = "The order was cancelled before its ticket was locked"


class EventStarted(StateConflict):
    """The ticket's event has started (the replica's date; the tickets service, the
    authority, refuses it too in the saga's reserve step)."""

    default_message = "Event has started"
