"""Business failures of the saga: raised as non-retryable ``ApplicationError`` with these
types, and mapped by the HTTP services to the documented status codes."""

from __future__ import annotations

from enum import StrEnum


class PurchaseError(StrEnum):
    TICKET_UNAVAILABLE = "TicketUnavailable"  # 409 "Ticket is already reserved"
    CARD_DECLINED = "CardDeclined"  # 402 with Stripe's message
    NOT_AWAITING_PAYMENT = "OrderNotAwaitingPayment"  # 409
    ALREADY_PAID = "OrderAlreadyPaid"  # 409 on cancel
    PRICE_CHANGED = "TicketPriceChanged"  # 409 "Ticket price changed"
    # Refusals that stop a paid purchase from completing (it is then refunded).
    TICKET_NOT_HELD = "TicketNotHeld"
    ORDER_NOT_PAYABLE = "OrderNotPayable"
