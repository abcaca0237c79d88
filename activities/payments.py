"""The payments service's activities (task queue ``payments``): charge an order, settle
a card authentication (3-D Secure) from what Stripe says, and refund as the saga's
compensation. Each is idempotent per order: see services/payments/operations.py for how
a retry never charges or refunds twice."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.runtime import ServiceRuntime
from services.payments import errors, operations
from services.payments.stripe_gateway import (
    CardDeclined,
    StripeGateway,
    charge_idempotency_key,
    refund_idempotency_key,
)
from workflows.contracts import FailureType
from workflows.models import (
    AuthenticationInput,
    ChargeInput,
    ChargeOutcome,
    ChargeResult,
    RefundInput,
    RefundOutcome,
)
from workflows.steps import Activity

log = logging.getLogger(__name__)

# Retryable: Temporal tries again after its backoff, by when the other attempt settled.
PAYMENT_IN_PROGRESS = "PaymentInProgress"
REQUIRES_AUTHENTICATION = "Card requires authentication"
NOT_AUTHENTICATED_IN_TIME = "The card was not authenticated in time."

# Where a Stripe round left an attempt: paid, declined, or waiting for the buyer.
AttemptResult = operations.Paid | operations.Declined | operations.Authenticating


def _declined(message: str) -> ApplicationError:
    return ApplicationError(message, type=FailureType.CARD_DECLINED, non_retryable=True)


class PaymentsActivities:
    def __init__(self, runtime: ServiceRuntime, gateway: StripeGateway | None = None) -> None:
        self.runtime = runtime
        self.gateway = gateway or StripeGateway.from_settings(runtime.settings)

    def functions(self) -> Sequence[Callable[..., Any]]:
        return [self.charge, self.settle_authentication, self.refund]

    async def aclose(self) -> None:
        await self.gateway.aclose()

    @activity.defn(name=Activity.CHARGE)
    async def charge(self, charge: ChargeInput) -> ChargeResult:
        """Charge the order once: paid, or waiting for the buyer to authenticate the card;
        a declined card raises non-retryable CardDeclined."""
        # Two rounds at most: settle an earlier attempt of this order, then run ours.
        for _ in range(2):
            try:
                async with self.runtime.unit_of_work() as uow:
                    step = await operations.claim(uow, charge, datetime.now(UTC))
                    # Committed before Stripe is called: a crash in between leaves an
                    # attempt the next try replays with the same idempotency key.
                    await uow.commit()
            except errors.AlreadyDeclined as declined:
                raise _declined(declined.message) from None
            except errors.AttemptInFlight as busy:
                raise ApplicationError(str(busy), type=PAYMENT_IN_PROGRESS) from None
            except errors.AlreadyRefunded as refunded:
                raise ApplicationError(
                    str(refunded), type=FailureType.NOT_AWAITING_PAYMENT, non_retryable=True
                ) from None
            if isinstance(step, operations.Paid):
                return _paid(step)
            attempt = step.attempt if isinstance(step, operations.Attempt) else step.attempt.attempt
            ours = attempt == charge.attempt
            if isinstance(step, operations.Authenticating):
                # Ours (this charge retried): it still waits for the buyer. An earlier
                # one: settled for good before another card is tried.
                outcome: AttemptResult = await self._settle(step, give_up=not ours)
            else:
                # Only this attempt may wait for the buyer: an earlier one replayed here
                # is settled now, one way or the other.
                outcome = await self._send(
                    step, accepts_authentication=charge.accepts_authentication and ours
                )
            if isinstance(outcome, operations.Paid):
                return _paid(outcome)
            if isinstance(outcome, operations.Authenticating):
                return _requires_action(outcome)
            if ours:
                raise _declined(outcome.message)
        raise ApplicationError("could not claim the payment", type=PAYMENT_IN_PROGRESS)

    @activity.defn(name=Activity.SETTLE_AUTHENTICATION)
    async def settle_authentication(self, step: AuthenticationInput) -> ChargeResult:
        """Where the card authentication of an attempt stands, from Stripe: paid,
        declined, or (unless giving up, which cancels it) still with the buyer."""
        async with self.runtime.unit_of_work() as uow:
            payment = await operations.payment_for(uow, step.order_id)
            assert payment is not None, "only an order with a payment has an authentication"
            payment_id = payment.id
            known = await operations.authentication_outcome(uow, payment, step.attempt)
        outcome = (
            await self._settle(known, give_up=step.give_up)
            if isinstance(known, operations.Authenticating)
            else known
        )
        if isinstance(outcome, operations.Paid):
            return _paid(outcome)
        if isinstance(outcome, operations.Authenticating):
            return _requires_action(outcome)
        return ChargeResult(
            payment_id=payment_id,
            stripe_id="",
            outcome=ChargeOutcome.DECLINED,
            message=outcome.message,
        )

    @activity.defn(name=Activity.REFUND)
    async def refund(self, refund: RefundInput) -> RefundOutcome:
        """Refund what was charged for the order, once; nothing when nothing was. A card
        authentication still under way is settled first (cancelled, or found paid)."""
        for _ in range(3):
            try:
                async with self.runtime.unit_of_work() as uow:
                    step = await operations.refundable(uow, refund.order_id, datetime.now(UTC))
            except errors.AttemptInFlight as busy:
                raise ApplicationError(str(busy), type=PAYMENT_IN_PROGRESS) from None
            if step is None:
                return RefundOutcome(refunded=False)
            if isinstance(step, operations.Authenticating):
                await self._settle(step, give_up=True)
                continue
            if isinstance(step, operations.Attempt):
                # Learn whether the unresolved charge took money before deciding.
                await self._send(step, accepts_authentication=False)
                continue
            _between_stripe_calls()
            refund_id = await self.gateway.refund(
                payment_intent_id=step.stripe_id,
                idempotency_key=refund_idempotency_key(refund.order_id),
            )
            async with self.runtime.unit_of_work() as uow:
                await operations.settle_refunded(uow, step.payment_id, refund_id)
                await uow.commit()
            log.info("refunded order %s (%s)", refund.order_id, refund_id)
            return RefundOutcome(refunded=True)
        raise ApplicationError("the order's payment is still unresolved", type=PAYMENT_IN_PROGRESS)

    async def _send(
        self, attempt: operations.Attempt, *, accepts_authentication: bool
    ) -> AttemptResult:
        """Send (or replay) an attempt to Stripe and record its outcome. A card that
        needs authentication waits for the buyer, if the saga waits for one; else it is
        cancelled and declined."""
        try:
            _between_stripe_calls()
            intent = await self.gateway.charge(
                amount_cents=attempt.amount_cents,
                token=attempt.token,
                idempotency_key=charge_idempotency_key(attempt.order_id, attempt.attempt),
                metadata={"order_id": str(attempt.order_id), "attempt": str(attempt.attempt)},
            )
        except CardDeclined as declined:
            return await self._record_declined(attempt, declined.message)
        if intent.requires_action and accepts_authentication:
            async with self.runtime.unit_of_work() as uow:
                await operations.settle_requires_action(uow, attempt, intent.id)
                await uow.commit()
            return operations.Authenticating(attempt, intent.id, intent.client_secret)
        if intent.requires_action:
            _between_stripe_calls()
            intent = await self.gateway.cancel(intent.id)
            if not intent.succeeded:
                return await self._record_declined(attempt, REQUIRES_AUTHENTICATION)
        return await self._record_paid(attempt, intent.id)

    async def _settle(self, waiting: operations.Authenticating, *, give_up: bool) -> AttemptResult:
        """Settle an authentication from what Stripe says of its PaymentIntent."""
        _between_stripe_calls()
        intent = await self.gateway.intent(waiting.intent_id)
        if intent.status in ("requires_action", "requires_confirmation") and give_up:
            _between_stripe_calls()
            intent = await self.gateway.cancel(intent.id)
            if not intent.succeeded:
                return await self._record_declined(waiting.attempt, NOT_AUTHENTICATED_IN_TIME)
        if intent.succeeded:
            return await self._record_paid(waiting.attempt, intent.id)
        if intent.status in ("requires_action", "requires_confirmation"):
            return replace(waiting, client_secret=intent.client_secret)
        if intent.status == "processing":
            raise ApplicationError("the payment is processing", type=PAYMENT_IN_PROGRESS)
        # requires_payment_method (the authentication or the card failed) or canceled.
        return await self._record_declined(
            waiting.attempt, intent.failure_message or operations.AUTHENTICATION_FAILED
        )

    async def _record_paid(self, attempt: operations.Attempt, intent_id: str) -> operations.Paid:
        async with self.runtime.unit_of_work() as uow:
            paid = await operations.settle_succeeded(uow, attempt, intent_id, datetime.now(UTC))
            await uow.commit()
        return paid

    async def _record_declined(
        self, attempt: operations.Attempt, message: str
    ) -> operations.Declined:
        async with self.runtime.unit_of_work() as uow:
            await operations.settle_declined(uow, attempt, message, datetime.now(UTC))
            await uow.commit()
        return operations.Declined(message)


def _between_stripe_calls() -> None:
    """A Stripe call may take up to a minute (the gateway's timeout and retries): a
    heartbeat before each tells Temporal the attempt is alive, so a worker that died
    mid-charge is noticed within the heartbeat timeout rather than the attempt's."""
    if activity.in_activity():
        activity.heartbeat()


def _requires_action(waiting: operations.Authenticating) -> ChargeResult:
    """The buyer's next step: authenticate with the client secret Stripe just gave."""
    assert waiting.client_secret is not None, "settled from what Stripe answered"
    return ChargeResult(
        payment_id=waiting.attempt.payment_id,
        stripe_id=waiting.intent_id,
        outcome=ChargeOutcome.REQUIRES_ACTION,
        client_secret=waiting.client_secret,
    )


def _paid(paid: operations.Paid) -> ChargeResult:
    return ChargeResult(payment_id=paid.payment_id, stripe_id=paid.stripe_id)
