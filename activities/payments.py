"""The payments service's activities (task queue ``payments``): charge an order, and
refund it as the saga's compensation. Both are idempotent per order: see
services/payments/operations.py for how a retry never charges or refunds twice."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.runtime import ServiceRuntime
from services.payments import operations
from services.payments.stripe_gateway import (
    CardDeclined,
    StripeGateway,
    charge_idempotency_key,
    refund_idempotency_key,
)
from workflows.errors import PurchaseError
from workflows.models import ChargeInput, ChargeResult, RefundInput
from workflows.steps import Activity

log = logging.getLogger(__name__)

# Retryable: Temporal tries again after its backoff, by when the other attempt settled.
PAYMENT_IN_PROGRESS = "PaymentInProgress"


def _declined(message: str) -> ApplicationError:
    return ApplicationError(message, type=PurchaseError.CARD_DECLINED, non_retryable=True)


class PaymentsActivities:
    def __init__(self, runtime: ServiceRuntime, gateway: StripeGateway | None = None) -> None:
        self.runtime = runtime
        self.gateway = gateway or StripeGateway.from_settings(runtime.settings)

    def functions(self) -> Sequence[Callable[..., Any]]:
        return [self.charge, self.refund]

    async def aclose(self) -> None:
        await self.gateway.aclose()

    @activity.defn(name=Activity.CHARGE)
    async def charge(self, charge: ChargeInput) -> ChargeResult:
        """Charge the order once; a declined card raises non-retryable CardDeclined."""
        # Two rounds at most: resolve an abandoned attempt of this order, then run ours.
        for _ in range(2):
            try:
                async with self.runtime.unit_of_work() as uow:
                    step = await operations.claim(uow, charge, datetime.now(UTC))
                    # Committed before Stripe is called: a crash in between leaves an
                    # attempt the next try replays with the same idempotency key.
                    await uow.commit()
            except operations.AlreadyDeclined as declined:
                raise _declined(declined.message) from None
            except operations.AttemptInFlight as busy:
                raise ApplicationError(str(busy), type=PAYMENT_IN_PROGRESS) from None
            except operations.AlreadyRefunded as refunded:
                raise ApplicationError(
                    str(refunded), type=PurchaseError.NOT_AWAITING_PAYMENT, non_retryable=True
                ) from None
            if isinstance(step, operations.Paid):
                return ChargeResult(payment_id=step.payment_id, stripe_id=step.stripe_id)
            outcome = await self._send(step)
            if isinstance(outcome, operations.Paid):
                return ChargeResult(payment_id=outcome.payment_id, stripe_id=outcome.stripe_id)
            if step.attempt == charge.attempt:
                raise _declined(outcome.message)
        raise ApplicationError("could not claim the payment", type=PAYMENT_IN_PROGRESS)

    @activity.defn(name=Activity.REFUND)
    async def refund(self, refund: RefundInput) -> None:
        """Refund what was charged for the order, once; nothing when nothing was."""
        for _ in range(2):
            try:
                async with self.runtime.unit_of_work() as uow:
                    step = await operations.refundable(uow, refund.order_id, datetime.now(UTC))
            except operations.AttemptInFlight as busy:
                raise ApplicationError(str(busy), type=PAYMENT_IN_PROGRESS) from None
            if step is None:
                return
            if isinstance(step, operations.Attempt):
                # Learn whether the unresolved charge took money before deciding.
                await self._send(step)
                continue
            refund_id = await self.gateway.refund(
                payment_intent_id=step.stripe_id,
                idempotency_key=refund_idempotency_key(refund.order_id),
            )
            async with self.runtime.unit_of_work() as uow:
                await operations.settle_refunded(uow, step.payment_id, refund_id)
                await uow.commit()
            log.info("refunded order %s (%s)", refund.order_id, refund_id)
            return
        raise ApplicationError("the order's payment is still unresolved", type=PAYMENT_IN_PROGRESS)

    async def _send(self, attempt: operations.Attempt) -> operations.Paid | operations.Declined:
        """Send (or replay) an attempt to Stripe and record its outcome."""
        try:
            stripe_id = await self.gateway.charge(
                amount_cents=attempt.amount_cents,
                token=attempt.token,
                idempotency_key=charge_idempotency_key(attempt.order_id, attempt.attempt),
                metadata={"order_id": str(attempt.order_id), "attempt": str(attempt.attempt)},
            )
        except CardDeclined as declined:
            async with self.runtime.unit_of_work() as uow:
                await operations.settle_declined(uow, attempt, declined.message, datetime.now(UTC))
                await uow.commit()
            return operations.Declined(declined.message)
        async with self.runtime.unit_of_work() as uow:
            paid = await operations.settle_succeeded(uow, attempt, stripe_id, datetime.now(UTC))
            await uow.commit()
        return paid
