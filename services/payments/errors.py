"""How the payments service refuses (services.common.errors says how each kind is answered).

The saga's refusals of a payment reach the payments routes as these too: its purchase
client maps a failure type of ``workflows.contracts.FailureType`` to the error here.
"""

from __future__ import annotations

from services.common.errors import Missing, NotPermitted, PaymentDeclined, StateConflict


class OrderNotFound(Missing):
    default_message = "Order not found"


class NotOrderOwner(NotPermitted):
    default_message = "You do not own this order"


class OrderNotAwaitingPayment(StateConflict):
    default_message = "Order is not awaiting payment"


class OrderAlreadyPaid(OrderNotAwaitingPayment):
    default_message = "Order has already been paid"


class OrderCancelled(OrderNotAwaitingPayment):
    default_message = "Cannot pay for a cancelled order"


class PaymentWindowEnded(OrderNotAwaitingPayment):
    default_message = "The payment window has ended"


class SagaEnded(OrderNotAwaitingPayment):
    """The order's saga has ended (paid, expired or cancelled): the route says which,
    from the order's replica."""


class CardDeclined(PaymentDeclined):
    """Stripe's own words, when it gave some."""

    default_message = "Your card was declined."


class AttemptInFlight(StateConflict):
    """Another attempt for this order is with Stripe right now; try again shortly."""

    default_message = "A payment is already in progress"


class AlreadyRefunded(StateConflict):
    """The order was charged and then refunded; it is not to be charged again."""

    default_message = "The order's payment was refunded"


class AlreadyDeclined(CardDeclined):
    """This attempt was declined before; its outcome stands."""
