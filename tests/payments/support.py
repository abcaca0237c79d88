"""What the payments tests share: a runtime, the outbox drained, the PaymentIntents
Stripe holds for an order, and a stand-in purchase workflow for the payment route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import func, select
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from activities.payments import PaymentsActivities
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.payments.service import definition
from services.payments.stripe_gateway import StripeGateway
from tests.support.apps import service_runtime
from tests.support.polling import eventually
from workflows.contracts import FailureType, TaskQueue
from workflows.models import (
    ChargeInput,
    ChargeResult,
    PaymentAnswer,
    PaymentRequest,
    PurchaseInput,
)


@asynccontextmanager
async def payments_runtime(
    settings: Settings, *, consume: bool = True
) -> AsyncIterator[ServiceRuntime]:
    async with service_runtime(definition, settings, consume=consume) as runtime:
        yield runtime


async def outbox_drained(runtime: ServiceRuntime) -> None:
    outbox = runtime.definition.tables.outbox

    async def drained() -> bool:
        async with runtime.database.read_sessions() as session:
            pending = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        return pending == 0

    await eventually(drained, within=5, what="the outbox relay")


async def intents_of_order(gateway: StripeGateway, order_id: object) -> list[str]:
    """The PaymentIntents Stripe holds for an order (by the metadata we send)."""
    intents = await gateway.client.v1.payment_intents.list_async({"limit": 100})
    return [
        intent.id
        for intent in intents.data
        if intent.metadata and intent.metadata.to_dict().get("order_id") == str(order_id)
    ]


# A stand-in for the purchase saga, only as much as the payment route needs: the
# ``pay`` Update with its validator, calling the real charge activity. The real saga is
# exercised end to end elsewhere.
@workflow.defn(name="PaymentsRouteTestPurchase")
class PayOnlyPurchase:
    @workflow.init
    def __init__(self, purchase: PurchaseInput) -> None:
        self.purchase = purchase
        self.attempts = 0
        self.receipt: PaymentAnswer | None = None

    @workflow.run
    async def run(self, purchase: PurchaseInput) -> None:
        await workflow.wait_condition(lambda: self.receipt is not None)

    @workflow.update
    async def pay(self, request: PaymentRequest) -> PaymentAnswer:
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
        self.receipt = PaymentAnswer(payment_id=result.payment_id, stripe_id=result.stripe_id)
        return self.receipt

    @pay.validator
    def refuse_unless_awaiting_payment(self, request: PaymentRequest) -> None:
        if self.receipt is not None:
            raise ApplicationError(
                "Order is not awaiting payment", type=FailureType.NOT_AWAITING_PAYMENT
            )
