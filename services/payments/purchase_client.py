"""Paying through the running purchase saga: its ``pay`` Update, failures mapped to the
documented statuses (402 declined; 409 when the order no longer awaits payment), and
Stripe's word that a PaymentIntent moved, passed on as its ``payment_event`` Signal."""

from __future__ import annotations

from uuid import UUID

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError
from temporalio.service import RPCError

from services.common.errors import DomainError
from services.common.temporal import business_failure, saga_has_finished
from services.payments.errors import CardDeclined, OrderNotAwaitingPayment
from workflows.contracts import PurchaseError, workflow_id
from workflows.models import PaymentEvent, PaymentReceipt, PaymentRequest

PAY_UPDATE = "pay"
PAYMENT_EVENT_SIGNAL = "payment_event"


def _refusal_of(failed: WorkflowUpdateFailedError) -> DomainError | None:
    """CardDeclined for a declined card; OrderNotAwaitingPayment for a rejected payment
    (the validator's refusal or any other); None for an infrastructure failure (an
    activity that failed for another reason than a business one)."""
    failure = business_failure(failed, PurchaseError)
    if failure is not None and failure.type == PurchaseError.CARD_DECLINED:
        return CardDeclined(failure.message or None)
    if failure is not None:
        return OrderNotAwaitingPayment()
    cause = failed.__cause__
    while cause is not None:
        if isinstance(cause, ActivityError):
            return None
        cause = cause.__cause__
    return OrderNotAwaitingPayment()


async def pay(client: Client, request: PaymentRequest) -> PaymentReceipt:
    handle = client.get_workflow_handle(workflow_id(request.order_id))
    try:
        receipt: PaymentReceipt = await handle.execute_update(
            PAY_UPDATE, request, result_type=PaymentReceipt
        )
    except WorkflowUpdateFailedError as failed:
        refusal = _refusal_of(failed)
        if refusal is None:
            raise
        raise refusal from None
    except RPCError as error:
        if saga_has_finished(error):
            raise OrderNotAwaitingPayment() from None
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
