"""The messages of the purchase saga: the workflow's input, its update and query
payloads, and one input model per activity (fields can be added compatibly).

Workflow code, activities, the orders service (which starts the saga) and the payments
service (which pays through it) all speak these types; nothing here does I/O.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel


class TaskQueue(StrEnum):
    TICKETS = "tickets"
    ORDERS = "orders"
    PAYMENTS = "payments"


def workflow_id(order_id: UUID) -> str:
    return f"order-{order_id}"


class PurchaseInput(BaseModel):
    order_id: UUID
    ticket_id: UUID
    buyer_id: UUID
    # The price as the orders service knew it (its replica, which may lag an edit).
    price_cents: int
    payment_window_seconds: int
    # The price the buyer saw, if they said: a ticket locked at another price is let go.
    expected_price_cents: int | None = None


# --- messages to and from the running saga ------------------------------------------


class PaymentRequest(BaseModel):
    """Sent by the payments service (Update ``pay``) when a buyer pays."""

    order_id: UUID
    buyer_id: UUID
    # A Stripe PaymentMethod (or card token) id.
    token: str


class PaymentReceipt(BaseModel):
    """What the ``pay`` Update answers once the charge has succeeded."""

    payment_id: UUID
    stripe_id: str


class PurchaseState(BaseModel):
    """What the ``state`` query answers."""

    status: str
    deadline: datetime | None
    payment_attempts: int
    ticket_reserved: bool
    charged: bool
    refunded: bool


# --- activity inputs ----------------------------------------------------------------


class ChargeInput(BaseModel):
    order_id: UUID
    buyer_id: UUID
    amount_cents: int
    token: str
    # Which try this is: a declined card may be retried with a new token until the window
    # ends, each try with its own Stripe idempotency key.
    attempt: int


class ChargeResult(BaseModel):
    payment_id: UUID
    stripe_id: str


class RefundInput(BaseModel):
    order_id: UUID
