"""Signature-only stand-ins of every activity the saga calls, each under the name the
real one registers (activities/). The saga calls these by reference, so mypy checks each
argument and result across the Temporal boundary, while the workflow sandbox imports no
activity module and with it no database driver or Stripe key.
tests/workflows/test_activity_stubs.py holds each to its real activity's signature."""

from __future__ import annotations

from temporalio import activity

from workflows.models import (
    AuthenticationInput,
    ChargeInput,
    ChargeResult,
    RefundInput,
    RefundOutcome,
)
from workflows.steps import (
    Activity,
    AwaitingPaymentInput,
    CancelOrderInput,
    LockedTicket,
    OrderInput,
    TicketHold,
    TicketSale,
)


def _elsewhere() -> NotImplementedError:
    return NotImplementedError("runs on its service's worker, never here")


# --- tickets (task queue "tickets") -------------------------------------------------


@activity.defn(name=Activity.RESERVE_TICKET)
async def reserve_ticket(hold: TicketHold) -> LockedTicket:
    raise _elsewhere()


@activity.defn(name=Activity.RELEASE_TICKET)
async def release_ticket(hold: TicketHold) -> None:
    raise _elsewhere()


@activity.defn(name=Activity.MARK_TICKET_SOLD)
async def mark_ticket_sold(sale: TicketSale) -> None:
    raise _elsewhere()


# --- orders (task queue "orders", where the saga runs) ------------------------------


@activity.defn(name=Activity.MARK_AWAITING_PAYMENT)
async def mark_order_awaiting_payment(step: AwaitingPaymentInput) -> None:
    raise _elsewhere()


@activity.defn(name=Activity.COMPLETE_ORDER)
async def complete_order(step: OrderInput) -> None:
    raise _elsewhere()


@activity.defn(name=Activity.CANCEL_ORDER)
async def cancel_order(step: CancelOrderInput) -> None:
    raise _elsewhere()


# --- payments (task queue "payments") -----------------------------------------------


@activity.defn(name=Activity.CHARGE)
async def charge(charge: ChargeInput) -> ChargeResult:
    raise _elsewhere()


@activity.defn(name=Activity.SETTLE_AUTHENTICATION)
async def settle_authentication(step: AuthenticationInput) -> ChargeResult:
    raise _elsewhere()


@activity.defn(name=Activity.REFUND)
async def refund(refund: RefundInput) -> RefundOutcome:
    raise _elsewhere()
