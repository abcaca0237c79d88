"""The purchase saga: lock the ticket, wait for payment within the window, then complete
the order, or cancel it and undo what was done.

Workflow code only: no I/O, no clock but ``workflow.now()``, activities called by name.
A change to what this code does for a running purchase must keep replaying its history
(tests/replay): branch on ``workflow.patched("<change id>")`` rather than editing steps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        ORDER_STATUS,
        CancelReason,
        OrderStatus,
        PurchaseError,
        TaskQueue,
    )
    from workflows.models import (
        AuthenticationInput,
        ChargeInput,
        ChargeOutcome,
        ChargeResult,
        PaymentEvent,
        PaymentReceipt,
        PaymentRequest,
        PurchaseInput,
        PurchaseState,
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
    )


STEP_TIMEOUT = timedelta(seconds=10)
CHARGE_TIMEOUT = timedelta(seconds=30)
# A forward step gives up after a while (and the purchase is undone); the caller waits.
FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=8,
)
# Once money is taken, the saga only goes forward: completing steps never give up, nor
# does a compensation (the ticket must be released and the money returned).
UNLIMITED_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
COMPENSATION_RETRY = UNLIMITED_RETRY
# A completing step that fails without a business reason, and says it is not worth
# retrying (a bug), is run again after this pause, until a fix is deployed.
UNEXPECTED_FAILURE_PAUSE = timedelta(minutes=5)
# What may stop a paid purchase from completing: a refusal by the service that owns the
# step, the only failures after payment that undo the purchase (and refund).
BUSINESS_REFUSALS = frozenset({PurchaseError.TICKET_NOT_HELD, PurchaseError.ORDER_NOT_PAYABLE})
# "Payment in progress" from the payments activity is retryable; the buyer is waiting.
CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=6,
)

RESERVATION_FAILED = "ReservationFailed"

# The orders worker runs this workflow, so the orders service's own steps run in it as
# local activities: no trip through a task queue. Purchases begun before keep theirs.
LOCAL_ORDER_STEPS = "local-order-steps"
# The lock fixes the price: reserving answers the ticket's price at that moment, which is
# what the order costs and the charge takes (the replica's may lag a seller's edit).
LOCKED_PRICE = "locked-price"
# A card may need the buyer's authentication (3-D Secure): the charge answers that it
# waits for it, Stripe's webhook (the payment_event signal) or the saga's own look at the
# end of the window settles it. Purchases begun before hear of such a card as declined.
THREE_D_SECURE = "three-d-secure"
# The saga's rules (README, "The purchase saga"): after payment only a business refusal
# undoes the purchase.
SAGA_RULES = "saga-rules"


class Reservation(StrEnum):
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    PRICE_CHANGED = "price_changed"
    FAILED = "failed"


def failure_type(error: ActivityError) -> str | None:
    cause = error.cause
    return cause.type if isinstance(cause, ApplicationError) else None


def refused(message: str, error: PurchaseError) -> ApplicationError:
    return ApplicationError(message, type=error, non_retryable=True)


Compensation = Callable[[], Awaitable[None]]


@workflow.defn(name="Purchase")
class PurchaseWorkflow:
    @workflow.init
    def __init__(self, purchase: PurchaseInput) -> None:
        self._purchase = purchase
        self._status = OrderStatus.CREATED
        self._reservation: Reservation | None = None
        self._deadline: datetime | None = None
        self._window_open = False
        self._attempts = 0
        self._charging = False
        self._receipt: PaymentReceipt | None = None
        self._cancel_requested = False
        self._ticket_reserved = False
        self._refunded = False
        self._cancel_reason = CancelReason.CANCELLED
        # What the order costs: the replica's price, until the lock fixes it.
        self._price_cents = purchase.price_cents
        # The attempt whose card authentication is under way, and whether Stripe has said
        # something of it since the saga last looked.
        self._authenticating: int | None = None
        self._stripe_moved = False
        # Registered before the step each undoes; run last-first.
        self._compensations: list[Compensation] = []

    # --- the saga ---------------------------------------------------------------------

    @workflow.run
    async def run(self, purchase: PurchaseInput) -> PurchaseState:
        try:
            await self._purchase_ticket()
        except asyncio.CancelledError:
            # The workflow itself was cancelled (an operator): undo, then end cancelled.
            await self._undo(CancelReason.CANCELLED)
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _purchase_ticket(self) -> None:
        self._compensations.append(self._cancel_order)
        self._compensations.append(self._release_ticket)
        try:
            if workflow.patched(LOCKED_PRICE):
                locked = await self._reserve_at_locked_price()
                if locked is None:
                    return
            else:
                await self._step(Activity.RESERVE_TICKET, self._hold, TaskQueue.TICKETS)
                self._ticket_reserved = True
            self._deadline = workflow.now() + timedelta(
                seconds=self._purchase.payment_window_seconds
            )
            await self._step(
                Activity.MARK_AWAITING_PAYMENT,
                AwaitingPaymentInput(
                    order_id=self._purchase.order_id,
                    expires_at=self._deadline,
                    price_cents=self._price_cents,
                ),
                TaskQueue.ORDERS,
            )
        except ActivityError as error:
            unavailable = failure_type(error) == PurchaseError.TICKET_UNAVAILABLE
            self._reservation = Reservation.UNAVAILABLE if unavailable else Reservation.FAILED
            if not unavailable:
                workflow.logger.warning("reserving failed; undoing", exc_info=True)
            await self._undo(
                CancelReason.TICKET_UNAVAILABLE if unavailable else CancelReason.CANCELLED
            )
            return
        self._window_open = True
        self._set_status(OrderStatus.AWAITING_PAYMENT)
        self._reservation = Reservation.RESERVED

        await self._wait_for_payment_or_cancel()
        if self._receipt is None:
            await self._undo(
                CancelReason.CANCELLED if self._cancel_requested else CancelReason.EXPIRED
            )
            return
        await self._complete()

    async def _reserve_at_locked_price(self) -> LockedTicket | None:
        """Lock the ticket; it costs what it cost at that moment. None, with the lock let
        go, when that is not the price the buyer saw."""
        locked: LockedTicket = await workflow.execute_activity(
            Activity.RESERVE_TICKET,
            self._hold,
            task_queue=TaskQueue.TICKETS,
            result_type=LockedTicket,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=FORWARD_RETRY,
        )
        self._ticket_reserved = True
        expected = self._purchase.expected_price_cents
        if expected is not None and locked.price_cents != expected:
            # Answered once let go: when the buyer hears of it, nothing is held.
            await self._undo(CancelReason.PRICE_CHANGED)
            self._reservation = Reservation.PRICE_CHANGED
            return None
        self._price_cents = locked.price_cents
        return locked

    async def _wait_for_payment_or_cancel(self) -> None:
        assert self._deadline is not None
        await self._wait_for_payment_until(self._deadline)
        self._window_open = False
        # A charge begun inside the window decides the outcome, even if it ends after it.
        await workflow.wait_condition(lambda: not self._charging)
        if self._awaiting_authentication():
            # So may an authentication begun inside it, within the grace; then the saga
            # asks Stripe itself (its webhook may never come) and gives up on what is
            # still unfinished.
            grace = timedelta(seconds=self._purchase.authentication_grace_seconds)
            await self._wait_for_payment_until(workflow.now() + grace)
            if self._awaiting_authentication():
                await self._settle_authentication(give_up=True)

    async def _wait_for_payment_until(self, until: datetime) -> None:
        """Until paid, cancelled or ``until``; settling the card authentication each time
        Stripe says it moved."""
        while (remaining := until - workflow.now()) > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: (
                        self._receipt is not None
                        or self._cancel_requested
                        or (self._authenticating is not None and self._stripe_moved)
                    ),
                    timeout=remaining,
                )
            if not (self._stripe_moved and self._awaiting_authentication()):
                return
            self._stripe_moved = False
            await self._settle_authentication(give_up=False)

    def _awaiting_authentication(self) -> bool:
        return (
            self._authenticating is not None
            and self._receipt is None
            and not self._cancel_requested
        )

    async def _settle_authentication(self, *, give_up: bool) -> None:
        """What Stripe says of the authentication decides: paid, declined (the buyer may
        try another card), or still with the buyer. Giving up, an unfinished one is
        cancelled on Stripe's side so that it can no longer take money."""
        attempt = self._authenticating
        assert attempt is not None
        self._charging = True
        try:
            settled: ChargeResult = await workflow.execute_activity(
                Activity.SETTLE_AUTHENTICATION,
                AuthenticationInput(
                    order_id=self._purchase.order_id, attempt=attempt, give_up=give_up
                ),
                task_queue=TaskQueue.PAYMENTS,
                result_type=ChargeResult,
                start_to_close_timeout=CHARGE_TIMEOUT,
                # Giving up must come to an answer; a look on a webhook may fail, the
                # look at the window's end follows.
                retry_policy=COMPENSATION_RETRY if give_up else CHARGE_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("settling a card authentication failed", exc_info=True)
            return
        finally:
            self._charging = False
        if settled.outcome is ChargeOutcome.SUCCEEDED:
            self._receipt = PaymentReceipt(
                payment_id=settled.payment_id, stripe_id=settled.stripe_id
            )
            self._authenticating = None
        elif settled.outcome is ChargeOutcome.DECLINED:
            self._authenticating = None

    async def _complete(self) -> None:
        """Paid: forward only. Each step retries until it succeeds; only a refusal by the
        service that owns it (the ticket is no longer held by this order, the order no
        longer awaits payment) undoes the purchase, and the order says why."""
        try:
            await self._forward(Activity.MARK_TICKET_SOLD, self._hold, TaskQueue.TICKETS)
            await self._forward(
                Activity.COMPLETE_ORDER,
                OrderInput(order_id=self._purchase.order_id),
                TaskQueue.ORDERS,
            )
        except ActivityError as refusal:
            workflow.logger.warning(
                "completing a paid order was refused (%s); refunding", failure_type(refusal)
            )
            await self._undo(CancelReason.COMPLETION_REFUSED)
            return
        self._compensations.clear()
        self._set_status(OrderStatus.COMPLETE)

    async def _forward(self, activity: Activity, arg: Any, queue: TaskQueue) -> None:
        """A completing step: retried without limit; raises only a business refusal.

        An orders step runs in the saga's worker first (a local activity) for a bounded
        time; failing that, as an ordinary activity, whose retries show in the Web UI
        and cost the history nothing however long they last."""
        local = queue is TaskQueue.ORDERS
        while True:
            try:
                if local:
                    await self._step(activity, arg, queue)
                else:
                    await self._remote_step(activity, arg, queue, UNLIMITED_RETRY)
                return
            except ActivityError as error:
                if failure_type(error) in BUSINESS_REFUSALS or not workflow.patched(SAGA_RULES):
                    # (Purchases begun before the rules undid on any failure.)
                    raise
                if local:
                    workflow.logger.warning("%s failed; retrying it on its queue", activity)
                    local = False
                    continue
                workflow.logger.error(
                    "%s failed without a business reason; trying again in %s",
                    activity,
                    UNEXPECTED_FAILURE_PAUSE,
                    exc_info=True,
                )
            await workflow.sleep(UNEXPECTED_FAILURE_PAUSE)

    # --- compensation -------------------------------------------------------------------

    async def _undo(self, reason: CancelReason) -> None:
        """Run the compensations last-first, to the end even if the workflow is cancelled
        meanwhile: they run in their own task, which cancelling the workflow does not
        reach (shielded)."""
        self._cancel_reason = reason
        self._window_open = False
        task = asyncio.create_task(self._run_compensations())
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.done() and task.cancelled():
                    raise
        task.result()
        self._set_status(OrderStatus.CANCELLED)

    async def _run_compensations(self) -> None:
        while self._compensations:
            await self._compensations.pop()()

    async def _cancel_order(self) -> None:
        await self._compensate(
            Activity.CANCEL_ORDER,
            CancelOrderInput(
                order_id=self._purchase.order_id,
                reason=self._cancel_reason,
                refunded=self._refunded,
            ),
            TaskQueue.ORDERS,
        )

    async def _release_ticket(self) -> None:
        await self._compensate(Activity.RELEASE_TICKET, self._hold, TaskQueue.TICKETS)
        self._ticket_reserved = False

    async def _refund(self) -> None:
        if self._authenticating is not None:
            # An authentication may have succeeded after all: the refund settles it
            # first, and says whether there was money to return.
            refund: RefundOutcome = await workflow.execute_activity(
                Activity.REFUND,
                RefundInput(order_id=self._purchase.order_id),
                task_queue=TaskQueue.PAYMENTS,
                result_type=RefundOutcome,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=COMPENSATION_RETRY,
            )
            self._authenticating = None
            self._refunded = refund.refunded
            return
        await self._compensate(
            Activity.REFUND, RefundInput(order_id=self._purchase.order_id), TaskQueue.PAYMENTS
        )
        self._refunded = self._receipt is not None

    # --- messages -------------------------------------------------------------------------

    @workflow.update
    async def wait_reserved(self) -> PurchaseState:
        """Answers once the ticket is locked for this order (or could not be)."""
        await workflow.wait_condition(lambda: self._reservation is not None)
        if self._reservation is Reservation.UNAVAILABLE:
            raise refused("Ticket is already reserved", PurchaseError.TICKET_UNAVAILABLE)
        if self._reservation is Reservation.PRICE_CHANGED:
            raise refused("Ticket price changed", PurchaseError.PRICE_CHANGED)
        if self._reservation is Reservation.FAILED:
            raise ApplicationError("The ticket could not be reserved", type=RESERVATION_FAILED)
        return self.state()

    @workflow.update
    async def pay(self, request: PaymentRequest) -> PaymentReceipt:
        self._charging = True
        self._attempts += 1
        if self._attempts == 1:
            self._compensations.append(self._refund)
        try:
            charged: ChargeResult = await workflow.execute_activity(
                Activity.CHARGE,
                ChargeInput(
                    order_id=self._purchase.order_id,
                    buyer_id=request.buyer_id,
                    amount_cents=self._price_cents,
                    token=request.token,
                    attempt=self._attempts,
                    accepts_authentication=workflow.patched(THREE_D_SECURE),
                ),
                task_queue=TaskQueue.PAYMENTS,
                result_type=ChargeResult,
                start_to_close_timeout=CHARGE_TIMEOUT,
                retry_policy=CHARGE_RETRY,
            )
            # The charge settled any authentication an earlier attempt left unfinished.
            self._authenticating = None
            if charged.outcome is ChargeOutcome.REQUIRES_ACTION:
                self._authenticating = self._attempts
                return PaymentReceipt(
                    payment_id=charged.payment_id,
                    stripe_id=charged.stripe_id,
                    status=ChargeOutcome.REQUIRES_ACTION,
                    client_secret=charged.client_secret,
                )
            self._receipt = PaymentReceipt(
                payment_id=charged.payment_id, stripe_id=charged.stripe_id
            )
        except ActivityError as error:
            if failure_type(error) == PurchaseError.CARD_DECLINED:
                self._authenticating = None
                cause = error.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(error)
                # The buyer may try again, with another card, until the window ends.
                raise refused(message, PurchaseError.CARD_DECLINED) from None
            raise
        finally:
            self._charging = False
        return self._receipt

    @pay.validator
    def _refuse_unless_payable(self, request: PaymentRequest) -> None:
        if self._receipt is not None:
            raise refused("Order has already been paid", PurchaseError.NOT_AWAITING_PAYMENT)
        if self._charging:
            raise refused("A payment is already in progress", PurchaseError.NOT_AWAITING_PAYMENT)
        if request.order_id != self._purchase.order_id:
            raise refused("Payment is for another order", PurchaseError.NOT_AWAITING_PAYMENT)
        if (
            self._status != OrderStatus.AWAITING_PAYMENT
            or not self._window_open
            or self._cancel_requested
            or self._deadline is None
            or workflow.now() >= self._deadline
        ):
            raise refused("Order is not awaiting payment", PurchaseError.NOT_AWAITING_PAYMENT)

    @workflow.signal
    def payment_event(self, event: PaymentEvent) -> None:
        """Stripe says a PaymentIntent moved: only a reason to look (the saga asks
        Stripe), so a duplicate or a stale one costs a look and changes nothing."""
        workflow.logger.info("Stripe: %s for %s", event.event_type, event.payment_intent_id)
        self._stripe_moved = True

    @workflow.update
    async def cancel(self) -> PurchaseState:
        """The buyer cancels; answers once the order is cancelled and the ticket released."""
        await workflow.wait_condition(lambda: not self._charging)
        if self._receipt is not None:
            raise refused("Cannot cancel a paid order", PurchaseError.ALREADY_PAID)
        self._cancel_requested = True
        await workflow.wait_condition(lambda: self._status == OrderStatus.CANCELLED)
        return self.state()

    @cancel.validator
    def _refuse_if_paid(self) -> None:
        if self._receipt is not None or self._status == OrderStatus.COMPLETE:
            raise refused("Cannot cancel a paid order", PurchaseError.ALREADY_PAID)

    @workflow.query
    def state(self) -> PurchaseState:
        return PurchaseState(
            status=self._status,
            deadline=self._deadline,
            payment_attempts=self._attempts,
            ticket_reserved=self._ticket_reserved,
            charged=self._receipt is not None,
            refunded=self._refunded,
            authenticating=self._authenticating is not None,
        )

    # --- helpers ----------------------------------------------------------------------------

    @property
    def _hold(self) -> TicketHold:
        return TicketHold(ticket_id=self._purchase.ticket_id, order_id=self._purchase.order_id)

    def _set_status(self, status: OrderStatus) -> None:
        self._status = status
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(status)])

    async def _step(
        self, activity: Activity, arg: Any, queue: TaskQueue, retry: RetryPolicy = FORWARD_RETRY
    ) -> None:
        if queue is TaskQueue.ORDERS and workflow.patched(LOCAL_ORDER_STEPS):
            await workflow.execute_local_activity(
                activity, arg, start_to_close_timeout=STEP_TIMEOUT, retry_policy=retry
            )
            return
        await self._remote_step(activity, arg, queue, retry)

    async def _remote_step(
        self, activity: Activity, arg: Any, queue: TaskQueue, retry: RetryPolicy
    ) -> None:
        await workflow.execute_activity(
            activity, arg, task_queue=queue, start_to_close_timeout=STEP_TIMEOUT, retry_policy=retry
        )

    async def _compensate(self, activity: Activity, arg: Any, queue: TaskQueue) -> None:
        await self._step(activity, arg, queue, COMPENSATION_RETRY)
