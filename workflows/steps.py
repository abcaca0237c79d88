"""The saga's own steps: activity names and inputs for the tickets and orders activities.

The workflow calls activities by name, so that workflow code never imports an activity
module (and with it a database driver); the activities register under these names.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel


class Activity(StrEnum):
    RESERVE_TICKET = "reserve_ticket"
    RELEASE_TICKET = "release_ticket"
    MARK_TICKET_SOLD = "mark_ticket_sold"
    MARK_AWAITING_PAYMENT = "mark_order_awaiting_payment"
    COMPLETE_ORDER = "complete_order"
    CANCEL_ORDER = "cancel_order"
    CHARGE = "charge"
    REFUND = "refund"


class TicketHold(BaseModel):
    """A ticket and the order that holds (or wants to hold) it."""

    ticket_id: UUID
    order_id: UUID


class AwaitingPaymentInput(BaseModel):
    order_id: UUID
    expires_at: datetime


class OrderInput(BaseModel):
    order_id: UUID


class CancelReason(StrEnum):
    # The window ended unpaid: order.expired.
    EXPIRED = "expired"
    # The buyer (or an operator) cancelled, or completing the purchase failed: order.cancelled.
    CANCELLED = "cancelled"
    # The ticket was taken before this order could lock it: the order was never announced.
    TICKET_UNAVAILABLE = "ticket_unavailable"


class CancelOrderInput(BaseModel):
    order_id: UUID
    reason: CancelReason
