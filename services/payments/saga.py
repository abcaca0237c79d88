"""Paying through the running purchase saga: its ``pay`` Update, failures mapped to the
documented statuses (402 declined; 409 when the order no longer awaits payment)."""

from __future__ import annotations

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from services.common.errors import AppError, Conflict, PaymentRequired
from workflows.errors import PurchaseError
from workflows.models import PaymentReceipt, PaymentRequest, workflow_id

PAY_UPDATE = "pay"
NOT_AWAITING_PAYMENT = "Order is not awaiting payment"


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cause = error.__cause__
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__
    return chain


def _status_for(failed: WorkflowUpdateFailedError) -> AppError | None:
    """402 for a declined card; 409 for a rejected payment (the validator's
    OrderNotAwaitingPayment or any other refusal); None for an infrastructure failure
    (an activity that failed for another reason than a business one)."""
    causes = _causes(failed)
    for cause in causes:
        if isinstance(cause, ApplicationError) and cause.type == PurchaseError.CARD_DECLINED:
            return PaymentRequired(cause.message or "Your card was declined.")
    for cause in causes:
        if isinstance(cause, ApplicationError) and cause.type in set(PurchaseError):
            return Conflict(NOT_AWAITING_PAYMENT)
    if any(isinstance(cause, ActivityError) for cause in causes):
        return None
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
        # The saga has finished (paid, expired or cancelled) or never ran.
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(NOT_AWAITING_PAYMENT) from None
        raise
    return receipt
