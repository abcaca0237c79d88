"""Paying through the running purchase saga: its ``pay`` Update, failures mapped to the
documented statuses (402 declined; 409 when the order no longer awaits payment), and
Stripe's word that a PaymentIntent moved, passed on as its ``payment_event`` Signal."""

from __future__ import annotations

from uuid import UUID

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError
from temporalio.service import RPCError

from services.common.http.errors import AppError, Conflict, PaymentRequired
from services.common.temporal import business_failure, saga_has_finished
from workflows.contracts import PurchaseError, workflow_id
from workflows.models import PaymentEvent, PaymentReceipt, PaymentRequest

PAY_UPDATE = "pay"
PAYMENT_EVENT_SIGNAL = "payment_event"
NOT_AWAITING_PAYMENT = "Order is not awaiting payment"


def _status_for(failed: WorkflowUpdateFailedError) -> AppError | None:
    """402 for a declined card; 409 for a rejected payment (the validator's
    OrderNotAwaitingPayment or any other refusal); None for an infrastructure failure
    (an activity that failed for another reason than a business one)."""
    failure = business_failure(failed, PurchaseError)
    if failure is not None and failure.type == PurchaseError.CARD_DECLINED:
        return PaymentRequired(failure.message or "Your card was declined.")
    if failure is not None:
        return Conflict(NOT_AWAITING_PAYMENT)
    cause = failed.__cause__
    while cause is not None:
        if isinstance(cause, ActivityError):
            return None
        cause = cause.__cause__
    return Conflict(NOT_AWAITING_PAYMENT)


async def pay(client: Client, request: PaymentRequest) -> PaymentReceipt:
    handle = client.get_workflow_handle(workflow_id(request.order_id))
    try:
        receipt: PaymentReceipt = await handle.execute_update(
            PAY_UPDATE, request, result_type=PaymentReceipt
        )
    except WorkflowUpdateFailedError as failed:
        status = _status_for(failed)
        if status is None:
            raise
        raise status from None
    except RPCError as error:
        if saga_has_finished(error):
            raise Conflict(NOT_AWAITING_PAYMENT) from None
        raise
    return receipt


async def tell_payment_event(client: Client, order_id: UUID, event: PaymentEvent) -> bool:
    """False when the order's saga has ended: nothing waits for the payment any more
    (the saga cancels an unfinished PaymentIntent before it ends, and refunds one found
    paid by then)."""
    handle = client.get_workflow_handle(workflow_id(order_id))
    try:
        await handle.signal(PAYMENT_EVENT_SIGNAL, event)
    except RPCError as error:
        if saga_has_finished(error):
            return False
        raise
    return True
