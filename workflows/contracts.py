"""What the purchase saga and the services both name: order statuses, cancel reasons, task
queues, the workflow id, search attributes and the saga's business failure types.

The one home of this vocabulary. The saga (``workflows/``), the activities and the services
import it; ``services/common`` does not (it knows no saga). Nothing here does I/O, so the
workflow sandbox may import it.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

# --- orders -------------------------------------------------------------------------


class OrderStatus(StrEnum):
    """An order's status. The orders database holds the one the API shows; the saga
    decides each change, the payments service keeps a replica from the events, and the
    ``OrderStatus`` search attribute mirrors it for the Temporal Web UI."""

    CREATED = "created"
    AWAITING_PAYMENT = "awaiting:payment"
    COMPLETE = "complete"
    CANCELLED = "cancelled"


class CancelReason(StrEnum):
    # The window ended unpaid: order.expired.
    EXPIRED = "expired"
    # The buyer (or an operator) cancelled, or completing the purchase failed: order.cancelled.
    CANCELLED = "cancelled"
    # The ticket was taken before this order could lock it: the order was never announced.
    TICKET_UNAVAILABLE = "ticket_unavailable"
    # Locked at another price than the buyer saw: released, never announced either.
    PRICE_CHANGED = "price_changed"
    # Paid, but the tickets or orders service refused to complete the sale: refunded.
    COMPLETION_REFUSED = "completion_refused"
    # The orders service gave up starting the saga (the API answered 503: try again), or
    # found that it never started: not held against the buyer, who was told to try again.
    ABANDONED = "abandoned"


# --- where the saga runs ----------------------------------------------------------------


class TaskQueue(StrEnum):
    TICKETS = "tickets"
    ORDERS = "orders"
    PAYMENTS = "payments"


WORKFLOW_ID_PREFIX = "order-"


def workflow_id(order_id: UUID) -> str:
    """The purchase saga's workflow id: one saga per order."""
    return f"{WORKFLOW_ID_PREFIX}{order_id}"


def order_of_workflow(workflow_id: str) -> str | None:
    """The order a purchase saga's workflow id names (None for any other workflow)."""
    if workflow_id.startswith(WORKFLOW_ID_PREFIX):
        return workflow_id.removeprefix(WORKFLOW_ID_PREFIX)
    return None


# --- search attributes (filterable in the Temporal Web UI) ----------------------------
# e.g. ``OrderStatus = "awaiting:payment"`` or ``BuyerId = "<user id>"``.

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
TICKET_ID = SearchAttributeKey.for_keyword("TicketId")
BUYER_ID = SearchAttributeKey.for_keyword("BuyerId")
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[str], ...] = (ORDER_STATUS, TICKET_ID, BUYER_ID)
# OrderStatus while the saga undoes an order (refund, release, cancel), before the order
# itself reads "cancelled": a purchase stuck there is a compensation that keeps failing.
CANCELLING = "cancelling"


def initial_search_attributes(
    *, status: str, ticket_id: str, buyer_id: str
) -> TypedSearchAttributes:
    """What the orders service starts a purchase with."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(ORDER_STATUS, status),
            SearchAttributePair(TICKET_ID, ticket_id),
            SearchAttributePair(BUYER_ID, buyer_id),
        ]
    )


# --- failure types ----------------------------------------------------------------------


class PaymentRefusal(StrEnum):
    """Why the saga refused a payment: the detail of its NOT_AWAITING_PAYMENT failure,
    which the payments service answers in its own words."""

    PAID = "paid"
    CANCELLED = "cancelled"
    WINDOW_ENDED = "window_ended"
    IN_PROGRESS = "in_progress"
    NOT_AWAITING = "not_awaiting"


class FailureType(StrEnum):
    """The types of the saga's business failures (``ApplicationError.type``, raised
    non-retryable), which the services' purchase clients map to their domain errors."""

    TICKET_UNAVAILABLE = "TicketUnavailable"
    CARD_DECLINED = "CardDeclined"
    NOT_AWAITING_PAYMENT = "OrderNotAwaitingPayment"
    ALREADY_PAID = "OrderAlreadyPaid"
    PRICE_CHANGED = "TicketPriceChanged"
    # Refusals that stop a paid purchase from completing (it is then refunded).
    TICKET_NOT_HELD = "TicketNotHeld"
    ORDER_NOT_PAYABLE = "OrderNotPayable"
