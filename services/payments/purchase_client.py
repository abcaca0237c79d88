"""Paying through the running purchase saga (its ``pay`` Update), and Stripe's word that a
PaymentIntent moved, passed on as its ``payment_event`` Signal. Every call has a deadline
(TemporalUnavailable past it); the saga's refusals come back as the payments service's
errors (CardDeclined; OrderNotAwaitingPayment and its kinds; SagaEnded)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from uuid import UUID

from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.service import RPCError

from services.common.errors import StateConflict
from services.common.temporal import answered_within, business_failure, saga_has_finished
from services.payments.errors import (
    AttemptInFlight,
    CardDeclined,
    OrderAlreadyPaid,
    OrderCancelled,
    OrderNotAwaitingPayment,
    PaymentWindowEnded,
    SagaEnded,
)
from workflows.contracts import FailureType, PaymentRefusal, workflow_id
from workflows.models import PaymentAnswer, PaymentEvent, PaymentRequest
from workflows.purchase import PurchaseWorkflow

# The saga's refusals of a payment, in the payments service's words.
REFUSALS: dict[object, type[StateConflict]] = {
    PaymentRefusal.PAID: OrderAlreadyPaid,
    PaymentRefusal.CANCELLED: OrderCancelled,
    PaymentRefusal.WINDOW_ENDED: PaymentWindowEnded,
    PaymentRefusal.IN_PROGRESS: AttemptInFlight,
}


def update_id(idempotency_key: str) -> str:
    """The pay Update's id for a client's Idempotency-Key: Temporal answers a repeated id
    with the first one's outcome. Hashed: update ids are stored in clear."""
    return "pay-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


async def pay(
    client: Client,
    request: PaymentRequest,
    *,
    idempotency_key: str | None,
    deadline: timedelta,
    answer_deadline: timedelta,
) -> PaymentAnswer:
    """Charge through the saga: within ``deadline`` the saga takes the payment on (or
    refuses it), within ``answer_deadline`` more the charge is answered; TemporalUnavailable
    past either (the charge then goes on, and the same key later gets its answer)."""
    handle = client.get_workflow_handle_for(PurchaseWorkflow.run, workflow_id(request.order_id))
    try:
        update = await answered_within(
            deadline.total_seconds(),
            handle.start_update(
                PurchaseWorkflow.pay,
                request,
                id=None if idempotency_key is None else update_id(idempotency_key),
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            ),
            "paying",
        )
        return await answered_within(answer_deadline.total_seconds(), update.result(), "paying")
    except WorkflowUpdateFailedError as failed:
        failure = business_failure(failed, FailureType)
        if failure is None:
            raise  # a charge that failed for another reason than the card: 500
        if failure.type == FailureType.CARD_DECLINED:
            raise CardDeclined(failure.message or "Your card was declined.") from None
        refusal = failure.details[0] if failure.details else None
        raise REFUSALS.get(refusal, OrderNotAwaitingPayment)() from None
    except RPCError as error:
        if saga_has_finished(error):
            raise SagaEnded() from None
        raise


async def tell_payment_event(
    client: Client, order_id: UUID, event: PaymentEvent, *, deadline: timedelta
) -> bool:
    """False when the order's saga has ended: nothing waits for the payment any more
    (the saga cancels an unfinished PaymentIntent before it ends, and refunds one found
    paid by then)."""
    handle = client.get_workflow_handle_for(PurchaseWorkflow.run, workflow_id(order_id))
    try:
        await answered_within(
            deadline.total_seconds(),
            handle.signal(PurchaseWorkflow.payment_event, event),
            "telling the saga of a payment event",
        )
    except RPCError as error:
        if saga_has_finished(error):
            return False
        raise
    return True
