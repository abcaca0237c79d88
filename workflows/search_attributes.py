"""The saga's search attributes, filterable in the Temporal Web UI, e.g.
``OrderStatus = "awaiting:payment"`` or ``BuyerId = "<user id>"``."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

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
