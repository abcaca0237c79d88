"""The saga's own steps: activity names and inputs for the tickets and orders activities.

The workflow calls activities by name, so that workflow code never imports an activity
module (and with it a database driver); the activities register under these names.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from workflows.contracts import CancelReason


class Activity(StrEnum):
    RESERVE_TICKET = "reserve_ticket"
    RELEASE_TICKET = "release_ticket"
    MARK_TICKET_SOLD = "mark_ticket_sold"
    MARK_AWAITING_PAYMENT = "mark_order_awaiting_payment"
    COMPLETE_ORDER = "complete_order"
    CANCEL_ORDER = "cancel_order"
    CHARGE = "charge"
    SETTLE_AUTHENTICATION = "settle_authentication"
    REFUND = "refund"


class TicketHold(BaseModel):
    """A ticket and the order that holds (or wants to hold) it."""

    ticket_id: UUID
    order_id: UUID


class TicketSale(TicketHold):
    """A ticket sold to the order holding it. The buyer becomes its holder (a new entry
    code); absent in purchases begun before the saga named the buyer here."""

    buyer_id: UUID | None = None


class LockedTicket(BaseModel):
    """What reserving answers: the ticket's price at the moment it was locked, which is
    what the order costs and the charge takes."""

    price_cents: int


class AwaitingPaymentInput(BaseModel):
    order_id: UUID
    expires_at: datetime
    # The locked price (absent in purchases begun before the lock fixed the price).
    price_cents: int | None = None


class OrderInput(BaseModel):
    order_id: UUID


class CancelOrderInput(BaseModel):
    order_id: UUID
    reason: CancelReason
    # The order was charged and the charge refunded (e.g. a card authentication that
    # succeeded after the order stopped awaiting payment): the order says so.
    refunded: bool = False
