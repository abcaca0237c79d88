"""A stand-in for the purchase saga, only as much as the payment route needs: the
``pay`` Update with its validator, calling the real charge activity. The real saga is
exercised end to end elsewhere."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from activities.payments import PaymentsActivities
from workflows.errors import PurchaseError
from workflows.models import (
    ChargeInput,
    ChargeResult,
    PaymentReceipt,
    PaymentRequest,
    PurchaseInput,
    TaskQueue,
)


@workflow.defn(name="PaymentsRouteTestPurchase")
class PayOnlyPurchase:
    @workflow.init
    def __init__(self, purchase: PurchaseInput) -> None:
        self.purchase = purchase
        self.attempts = 0
        self.receipt: PaymentReceipt | None = None

    @workflow.run
    async def run(self, purchase: PurchaseInput) -> None:
        await workflow.wait_condition(lambda: self.receipt is not None)

    @workflow.update
    async def pay(self, request: PaymentRequest) -> PaymentReceipt:
        self.attempts += 1
        try:
            result: ChargeResult = await workflow.execute_activity_method(
                PaymentsActivities.charge,
                ChargeInput(
                    order_id=self.purchase.order_id,
                    buyer_id=request.buyer_id,
                    amount_cents=self.purchase.price_cents,
                    token=request.token,
                    attempt=self.attempts,
                ),
                task_queue=TaskQueue.PAYMENTS,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=1)),
            )
        except ActivityError as error:
            if isinstance(error.cause, ApplicationError):
                cause = error.cause
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
            raise
        self.receipt = PaymentReceipt(payment_id=result.payment_id, stripe_id=result.stripe_id)
        return self.receipt

    @pay.validator
    def refuse_unless_awaiting_payment(self, request: PaymentRequest) -> None:
        if self.receipt is not None:
            raise ApplicationError(
                "Order is not awaiting payment", type=PurchaseError.NOT_AWAITING_PAYMENT
            )
